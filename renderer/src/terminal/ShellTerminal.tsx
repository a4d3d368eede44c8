/**
 * One interactive shell in xterm.js: keystrokes to `shell:write`, output from `shell:data`
 * acknowledged once drawn (flow control), the size kept in step with the panel.
 */
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef } from 'react';
import { useApp } from '../context';

export function ShellTerminal({ shellId, visible }: { shellId: string; visible: boolean }) {
  const { api } = useApp();
  const box = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | undefined>(undefined);
  const fit = useRef<FitAddon | undefined>(undefined);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const terminal = new Terminal({
      fontSize: 13,
      fontFamily: 'ui-monospace, Menlo, Consolas, monospace',
      scrollback: 5_000,
      cursorBlink: true,
    });
    const fitter = new FitAddon();
    terminal.loadAddon(fitter);
    terminal.open(el);
    term.current = terminal;
    fit.current = fitter;
    let size = { cols: 0, rows: 0 };
    const refit = () => {
      if (!el.offsetParent) return; // hidden tab: keep the last size
      fitter.fit();
      if (terminal.cols !== size.cols || terminal.rows !== size.rows) {
        size = { cols: terminal.cols, rows: terminal.rows };
        void api.shellResize({ shellId, ...size });
      }
    };
    refit();
    const typed = terminal.onData((data) => void api.shellWrite({ shellId, data }));
    const off = api.on('shell:data', (e) => {
      if (e.shellId !== shellId) return;
      const chars = e.data.length;
      terminal.write(e.data, () => void api.shellAck({ shellId, chars }));
    });
    const resize = new ResizeObserver(refit);
    resize.observe(el);
    return () => {
      resize.disconnect();
      off();
      typed.dispose();
      terminal.dispose();
      term.current = undefined;
    };
  }, [api, shellId]);

  useEffect(() => {
    if (!visible) return;
    fit.current?.fit();
    term.current?.focus();
  }, [visible]);

  return (
    <div
      className="shell-term"
      ref={box}
      data-testid={`shell-${shellId}`}
      style={{ display: visible ? 'block' : 'none' }}
    />
  );
}
