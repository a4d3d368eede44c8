/**
 * How `ustart run` shows a run in a terminal: every output line prefixed with its host
 * (a colour per host), a line per finished host-step and step, and on a TTY a progress
 * line kept at the bottom.
 */
import type { Counts, RunEvent } from '../engine/index.js';
import { type Color, type Output, paint } from './output.js';

const HOST_COLORS: Color[] = ['cyan', 'magenta', 'blue', 'yellow', 'green'];

export class RunView {
  private readonly partial = new Map<string, string>();
  private readonly hostColor = new Map<string, Color>();
  private width = 8;
  private steps = { total: 0, done: 0 };
  private hosts = { total: 0, done: 0, running: 0, failed: 0 };
  private progressShown = false;
  /** "[DEMO] " on every line that names the run, once the run says it is a demo. */
  private demo = '';

  constructor(private readonly out: Output) {}

  onEvent(e: RunEvent): void {
    switch (e.type) {
      case 'run-started': {
        const names = [...new Set(e.steps.flatMap((s) => s.hosts))];
        names.forEach((h, i) => this.hostColor.set(h, HOST_COLORS[i % HOST_COLORS.length]!));
        this.width = Math.max(8, ...names.map((h) => h.length));
        this.steps.total = e.steps.length;
        this.hosts.total = e.steps.reduce((n, s) => n + s.hosts.length, 0);
        if (e.demo) this.demo = paint(this.out, 'magenta', '[DEMO] ');
        this.print(
          `${this.demo}${paint(this.out, 'bold', `run ${e.runId}`)}${e.resumed ? ' (resumed)' : ''}: ${e.steps.length} step${e.steps.length === 1 ? '' : 's'} on ${names.length} host${names.length === 1 ? '' : 's'}\n` +
            paint(this.out, 'dim', `  folder ${e.runDir}\n`),
        );
        break;
      }
      case 'step-started':
        this.print(
          paint(this.out, 'bold', `▶ ${e.stepId}`) +
            paint(
              this.out,
              'dim',
              ` on ${e.hosts.length} host${e.hosts.length === 1 ? '' : 's'}\n`,
            ),
        );
        break;
      case 'host-step-started':
        this.hosts.running++;
        this.progress();
        break;
      case 'log':
        this.log(e.stepId, e.host, e.data, e.stream === 'stderr' || e.stream === 'engine');
        break;
      case 'host-step-finished': {
        this.flushPartial(e.stepId, e.host);
        this.hosts.running--;
        this.hosts.done++;
        if (e.state === 'failed') this.hosts.failed++;
        const mark = stateMark(e.state);
        this.print(
          `${this.prefix(e.host)} ${paint(this.out, mark.color, `${mark.sign} ${e.stepId} ${e.state}`)}${e.message ? paint(this.out, 'dim', ` — ${e.message}`) : ''}\n`,
        );
        break;
      }
      case 'host-step-retrying':
        this.hosts.done--;
        this.hosts.failed--;
        this.print(
          `${this.prefix(e.host)} ${paint(this.out, 'yellow', `↻ ${e.stepId} attempt ${e.attempt} in ${Math.round(e.delayMs / 1000)} s`)}\n`,
        );
        break;
      case 'timeout-warning':
        this.print(
          `${this.prefix(e.host)} ${paint(this.out, 'yellow', `⏱ ${e.stepId} still running after ${Math.round(e.elapsedMs / 1000)} s (soft timeout); Ctrl-C cancels the run`)}\n`,
        );
        break;
      case 'step-skipped':
        this.print(paint(this.out, 'dim', `↷ ${e.stepId} skipped: ${e.reason}\n`));
        break;
      case 'step-finished':
        this.steps.done++;
        this.print(
          `${paint(this.out, e.state === 'succeeded' || e.state === 'skipped' ? 'green' : 'red', `■ ${e.stepId} ${e.state}`)} ${paint(this.out, 'dim', formatCounts(e.counts))}\n`,
        );
        break;
      case 'run-paused':
      case 'decision-taken':
        break;
      case 'warning':
        this.print(paint(this.out, 'yellow', `warning: ${e.message}\n`));
        break;
      case 'run-finished':
        this.clearProgress();
        this.out.stdout(
          `${this.demo}${paint(this.out, e.state === 'succeeded' ? 'green' : 'red', `run ${e.runId} ${e.state}`)} ${paint(this.out, 'dim', formatCounts(e.counts))}\n`,
        );
        break;
      default:
        throw new Error(`unknown event ${(e as { type: string }).type}`);
    }
  }

  private log(stepId: string, host: string, data: string, dim: boolean): void {
    const key = `${stepId}\0${host}`;
    const text = (this.partial.get(key) ?? '') + data;
    const lines = text.split('\n');
    this.partial.set(key, lines.pop()!);
    if (!lines.length) return;
    const prefix = this.prefix(host);
    this.print(lines.map((l) => `${prefix} ${dim ? paint(this.out, 'dim', l) : l}\n`).join(''));
  }

  private flushPartial(stepId: string, host: string): void {
    const key = `${stepId}\0${host}`;
    const rest = this.partial.get(key);
    this.partial.delete(key);
    if (rest) this.print(`${this.prefix(host)} ${rest}\n`);
  }

  private prefix(host: string): string {
    return (
      paint(this.out, this.hostColor.get(host) ?? 'cyan', host.padEnd(this.width)) +
      paint(this.out, 'dim', ' │')
    );
  }

  private print(text: string): void {
    this.clearProgress();
    this.out.stdout(text);
    this.progress();
  }

  private clearProgress(): void {
    if (this.progressShown) this.out.stdout('\r\x1b[K');
    this.progressShown = false;
  }

  private progress(): void {
    if (!this.out.isTTY || !this.steps.total) return;
    this.clearProgress();
    const { done, total, running, failed } = this.hosts;
    this.out.stdout(
      paint(
        this.out,
        'bold',
        `[steps ${this.steps.done}/${this.steps.total} · host-steps ${done}/${total}, ${running} running${failed ? `, ${failed} failed` : ''}]`,
      ),
    );
    this.progressShown = true;
  }
}

const STATE_MARK: Partial<Record<string, { sign: string; color: Color }>> = {
  succeeded: { sign: '✓', color: 'green' },
  skipped: { sign: '↷', color: 'dim' },
  failed: { sign: '✗', color: 'red' },
  cancelled: { sign: '■', color: 'yellow' },
  'connection-lost': { sign: '⚡', color: 'yellow' },
  unknown: { sign: '?', color: 'yellow' },
};

/** The sign and colour a finished step or host-step is shown with (both run displays). */
export function stateMark(state: string): { sign: string; color: Color } {
  return STATE_MARK[state] ?? { sign: '•', color: 'dim' };
}

export function formatCounts(c: Partial<Counts>): string {
  return (Object.entries(c) as [string, number][])
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
}
