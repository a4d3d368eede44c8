/**
 * The live log of one step on one host in xterm.js: ANSI colours as the host printed them,
 * search, follow or pause, copy, and older lines loaded from the log file on demand. The
 * terminal's own scrollback is bounded, like the ring behind it; the full log stays on disk.
 */
import { FitAddon } from '@xterm/addon-fit';
import { SearchAddon } from '@xterm/addon-search';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useRef, useState } from 'react';
import { useApp } from '../context';
import { useOpT } from '../host-pages/texts';
import { hostKey } from '../state/run-store';
import { TailFeeder } from './ring-buffer';
import type { RunClient } from './run-client';

/** Older text shown above the ring, at most this many characters. */
const HISTORY_CHARS = 2 * 1024 * 1024;
/**
 * Lines the terminal keeps above its screen (docs/upstream-facts.md#xterm-scrollback); a live
 * log behind by more skips to its tail.
 */
const SCROLLBACK = 10_000;
/** And at most this many characters of it (a log of very long lines). */
const TAIL_CHARS = 2 * 1024 * 1024;
// Escape sequences are what this strips from copied text: control characters are the point.
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007]*\u0007/g;

export function LogView(props: {
  client: RunClient;
  planFile: string;
  runId: string;
  stepId: string;
  host: string;
}) {
  const { client, planFile, runId, stepId, host } = props;
  const { api } = useApp();
  const t = useOpT();
  const box = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | undefined>(undefined);
  const search = useRef<SearchAddon | undefined>(undefined);
  const history = useRef({ text: '', start: -1 });
  const written = useRef(0);
  const frame = useRef<number | undefined>(undefined);
  const [follow, setFollow] = useState(true);
  const [query, setQuery] = useState('');
  const [olderLeft, setOlderLeft] = useState(true);
  const [busy, setBusy] = useState(false);
  const [chars, setChars] = useState(0);
  const [skipped, setSkipped] = useState(0);
  /** Bumped to redraw the followed log from the start (older lines were loaded). */
  const [redraw, setRedraw] = useState(0);
  const scrollTopOnRedraw = useRef(false);
  const tRef = useRef(t);
  tRef.current = t;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const terminal = new Terminal({
      convertEol: true,
      disableStdin: true,
      scrollback: SCROLLBACK,
      fontSize: 12,
      fontFamily: 'ui-monospace, Menlo, Consolas, monospace',
      theme: { background: '#111418' },
    });
    const fit = new FitAddon();
    const finder = new SearchAddon();
    terminal.loadAddon(fit);
    terminal.loadAddon(finder);
    terminal.open(el);
    fit.fit();
    term.current = terminal;
    search.current = finder;
    history.current = { text: '', start: -1 };
    written.current = 0;
    const resize = new ResizeObserver(() => fit.fit());
    resize.observe(el);
    return () => {
      client.view(undefined);
      resize.disconnect();
      terminal.dispose();
      term.current = undefined;
    };
  }, [client, runId, stepId, host]);

  // Follow: what is in the ring now, then every new chunk as it comes.
  useEffect(() => {
    const terminal = term.current;
    if (!terminal) return;
    const ring = client.logOf(stepId, host);
    if (!follow) {
      client.view(undefined);
      return;
    }
    // ESC c (a full reset) through write, not reset(): it takes its place after what the last
    // feeder still has queued in xterm, so none of that lands on top of this redraw.
    terminal.write('\x1bc');
    const text = history.current.text + ring.text();
    written.current = text.length;
    setChars(written.current);
    setSkipped(0);
    terminal.write(text, () => {
      if (scrollTopOnRedraw.current) terminal.scrollToTop();
      scrollTopOnRedraw.current = false;
    });
    setOlderLeft((history.current.start < 0 ? ring.start : history.current.start) > 0);
    // Live text through a feeder: when xterm falls behind, only the lines it would keep are
    // drawn (most of a million-line log would be parsed only to leave the scrollback), and
    // text is acknowledged on receipt (it is in the ring), so the host's output does not wait
    // on drawing: the core's flow window then bounds only what is on its way here.
    const feeder = new TailFeeder(
      terminal,
      SCROLLBACK,
      TAIL_CHARS,
      (n) => `\x1b[2m${tRef.current('linesSkipped').replace('{n}', n.toLocaleString())}\x1b[0m`,
      // The next frame, or the first after the terminal's share of time allows.
      (tick, delay) =>
        delay > 0
          ? setTimeout(() => requestAnimationFrame(tick), delay)
          : requestAnimationFrame(tick),
      () => performance.now(),
    );
    client.view({
      key: hostKey(stepId, host),
      write: (data, done) => {
        written.current += data.length;
        feeder.push(data, done);
        // One count update per frame, however many chunks arrive.
        frame.current ??= requestAnimationFrame(() => {
          frame.current = undefined;
          setChars(written.current);
          setSkipped(feeder.skipped);
        });
      },
    });
    return () => {
      client.view(undefined);
      feeder.close();
      if (frame.current !== undefined) cancelAnimationFrame(frame.current);
      frame.current = undefined;
    };
  }, [client, follow, stepId, host, runId, redraw]);

  const loadOlder = async () => {
    const ring = client.logOf(stepId, host);
    const end = history.current.start >= 0 ? history.current.start : ring.start;
    if (end <= 0) return setOlderLeft(false);
    // The view this request is for: another step, host or run chosen meanwhile has its own
    // terminal and history, which the answer must not touch.
    const terminal = term.current;
    setBusy(true);
    try {
      const r = await api.runLog({ planFile, runId, stepId, host, end, maxBytes: 256 * 1024 });
      if (!r.ok || !terminal || term.current !== terminal) return;
      history.current = {
        text: (r.value.data + history.current.text).slice(-HISTORY_CHARS),
        start: r.value.start,
      };
      setOlderLeft(r.value.start > 0);
      // Redraw with the older lines on top; the view stays where the consultant reads.
      scrollTopOnRedraw.current = true;
      if (follow) {
        // The follow effect redraws with a fresh feeder (the old one's backlog is in the ring).
        setRedraw((n) => n + 1);
        return;
      }
      terminal.write('\x1bc');
      const text = history.current.text + ring.text();
      written.current = text.length;
      terminal.write(text, () => {
        terminal.scrollToTop();
        scrollTopOnRedraw.current = false;
      });
      setChars(written.current);
    } finally {
      setBusy(false);
    }
  };

  const copy = () => {
    const terminal = term.current;
    const text = terminal?.hasSelection()
      ? terminal.getSelection()
      : history.current.text + client.logOf(stepId, host).text();
    void navigator.clipboard?.writeText(text.replace(ANSI, ''));
  };

  return (
    <section className="log-view" data-testid="log-view" data-host={host} data-step={stepId}>
      <div className="toolbar">
        <strong>
          {stepId} @ {host}
        </strong>
        <button
          type="button"
          data-testid="log-follow"
          aria-pressed={follow}
          onClick={() => setFollow((f) => !f)}
        >
          {follow ? t('pause') : t('follow')}
        </button>
        <button type="button" onClick={copy}>
          {t('copy')}
        </button>
        <button
          type="button"
          data-testid="log-older"
          disabled={!olderLeft || busy}
          onClick={() => void loadOlder()}
        >
          {t('loadOlder')}
        </button>
        <input
          type="search"
          placeholder={t('search')}
          aria-label={t('search')}
          value={query}
          onChange={(e) => {
            setQuery(e.target.value);
            if (e.target.value) search.current?.findNext(e.target.value, { incremental: true });
          }}
          onKeyDown={(e) => {
            if (e.key !== 'Enter' || !query) return;
            if (e.shiftKey) search.current?.findPrevious(query);
            else search.current?.findNext(query);
          }}
        />
        <span className="muted" data-testid="log-chars" data-chars={chars} data-skipped={skipped}>
          {chars.toLocaleString()} {t('chars')}
        </span>
      </div>
      <div className="log-term" ref={box} />
    </section>
  );
}
