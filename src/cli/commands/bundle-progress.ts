/**
 * Shows bundle progress events: a one-line bar redrawn in place on a terminal, one line
 * per phase otherwise (logs stay readable), or every event as a JSON line for tools.
 */
import type { BundleEvent, BundleEventListener, BundlePhase } from '../../bundle/index.js';
import type { Output } from '../output.js';

const LABELS: Record<BundlePhase, string> = {
  'resolve-packages': 'resolving packages',
  download: 'downloading',
  hash: 'hashing',
  write: 'writing',
  'verify-signature': 'checking signature',
  'verify-entries': 'verifying entries',
  upload: 'uploading',
  'configure-host': 'configuring host',
};

export function progressReporter(
  out: Output,
  json: boolean,
): BundleEventListener & { done(): void } {
  let started = 0;
  let drawn = false;
  const clear = () => {
    if (drawn) out.stderr('\r\x1b[2K');
    drawn = false;
  };
  const listener = (event: BundleEvent) => {
    if (json) {
      out.stdout(JSON.stringify(event) + '\n');
      return;
    }
    switch (event.type) {
      case 'phase-started':
        started = performance.now();
        clear();
        if (!out.isTTY) out.stderr(`${LABELS[event.phase]}…\n`);
        break;
      case 'progressed':
        if (out.isTTY) {
          out.stderr(`\r\x1b[2K${bar(event, started)}`);
          drawn = true;
        }
        break;
      case 'problem-found':
        clear();
        out.stderr(`problem: ${event.problem.message}\n`);
        break;
      case 'phase-finished':
        clear();
        break;
      case 'retried':
        clear();
        out.stderr(`retrying ${event.item} (attempt ${event.attempt}): ${event.message}\n`);
        break;
      case 'item-finished':
        break;
    }
  };
  return Object.assign(listener, { done: clear });
}

function bar(event: Extract<BundleEvent, { type: 'progressed' }>, started: number): string {
  const seconds = (performance.now() - started) / 1000;
  const rate = seconds > 0 ? event.doneBytes / seconds / 1e6 : 0;
  const item = event.item
    ? ` ${event.item.length > 40 ? `…${event.item.slice(-39)}` : event.item}`
    : '';
  if (!event.totalBytes)
    return `${LABELS[event.phase]} ${formatBytes(event.doneBytes)} ${rate.toFixed(0)} MB/s${item}`;
  const fraction = Math.min(1, event.doneBytes / event.totalBytes);
  const width = 24;
  const filled = Math.round(fraction * width);
  return (
    `${LABELS[event.phase]} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ` +
    `${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(event.doneBytes)}/${formatBytes(event.totalBytes)} ` +
    `${rate.toFixed(0)} MB/s${item}`
  );
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
