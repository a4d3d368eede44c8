/**
 * How `ustart run` and `ustart demo` show a run. Three views over the engine's events
 * (docs/engine.md, "The CLI's run view"):
 *
 * - the default **compact** view: phase headers, one line per step, and on a failure the
 *   host, the last lines of its log and the command that shows the rest. On a terminal the
 *   running steps are live lines (hosts done/running/failed, a progress bar) redrawn in place;
 *   elsewhere each step gets one line when it ends;
 * - `--verbose`: every host's log streamed, with the engine's bookkeeping (`RunView`);
 * - `--json`: one JSON object per line (the engine's events and the CLI's own).
 *
 * Host logs and the engine's bookkeeping lines are always in the run's log files.
 */
import { dirname } from 'node:path';
import { defaultRunsDir, type RunEvent, type State } from '../engine/index.js';
import { sitePhases } from '../render/step-specs.js';
import { type Color, type Output, paint } from './output.js';
import { formatCounts, RunView, stateMark } from './run-view.js';

/** What a run command shows besides the engine's events goes through the display too. */
export interface RunDisplay {
  onEvent(e: RunEvent): void;
  /** Something the command says (a demo's note): a line, or a JSON `note`. */
  note(text: string): void;
  /** The install summary's lines, or one JSON `summary`. */
  summary(lines: string[]): void;
  /** The commands to go on from here: text lines, or one JSON `next`. */
  next(next: NextCommands): void;
  /**
   * Takes the live lines off the terminal and stops drawing them, so a prompt or a message
   * on stderr is not drawn over; the returned function draws them again.
   */
  suspend(): () => void;
  /** Stops timers; the live lines stay on screen as they were last drawn. */
  dispose(): void;
}

export interface NextCommands {
  /** The command that continues the run (absent when it succeeded). */
  resume?: string;
  /** The command that prints the run's logs. */
  logs: string;
}

export interface RunDisplayOptions {
  verbose?: boolean;
  json?: boolean;
  /** Put before the lines that name the run (the demo's `[DEMO] `), already painted. */
  badge?: string;
  /** Log lines shown under a failed host (20). */
  tailLines?: number;
  /** Least time between two redraws of the live lines, in ms (100). */
  throttleMs?: number;
}

export function createRunDisplay(out: Output, opts: RunDisplayOptions = {}): RunDisplay {
  if (opts.json) return new JsonRunDisplay(out, opts.verbose ?? false);
  if (opts.verbose) return new VerboseRunDisplay(out, opts.badge ?? '');
  return new CompactRunView(out, opts);
}

/**
 * `ustart logs RUN --plan PLAN --step S --host H` for a run folder; `--runs-dir` when the
 * runs are not where `--plan` would look for them.
 */
export function logsCommand(
  run: { runId: string; runDir: string; planFile?: string },
  step?: string,
  host?: string,
): string {
  const runsDir = dirname(run.runDir);
  const where =
    run.planFile && defaultRunsDir(run.planFile) === runsDir
      ? ['--plan', run.planFile]
      : ['--runs-dir', runsDir];
  return [
    'ustart',
    'logs',
    run.runId,
    ...where,
    ...(step ? ['--step', step] : []),
    ...(host ? ['--host', host] : []),
  ]
    .map(shellWord)
    .join(' ');
}

function shellWord(s: string): string {
  return /^[\w./@:=+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const FAILED: ReadonlySet<State> = new Set(['failed', 'connection-lost', 'unknown']);
const ENDED_BAD: ReadonlySet<State> = new Set([...FAILED, 'cancelled']);

let phaseNames: ReadonlyMap<string, string> | undefined;

/** An install phase's name as the runbook labels it (none for resets and unknown phases). */
function phaseName(phase: string): string | undefined {
  phaseNames ??= new Map(
    sitePhases()
      .filter((p) => p.resetOf === undefined)
      .map((p) => [p.id, p.label.en]),
  );
  return phaseNames.get(phase);
}

/** One step as the compact view tracks it. */
interface StepLine {
  id: string;
  title: string;
  phase: string;
  hosts: Map<string, State | 'pending'>;
  started?: number;
  finished?: boolean;
}

/** A piece of a line with its colour, so a line can be cut to the terminal's width. */
type Segment = [text: string, color?: Color];

/**
 * The default view. `out.isTTY` decides between live lines redrawn in place and one line
 * per step when it ends. Host output is not shown, except the tail of a failed host's.
 */
export class CompactRunView implements RunDisplay {
  private readonly steps = new Map<string, StepLine>();
  private readonly tails: LogTails;
  private run?: { runId: string; runDir: string; planFile?: string };
  private phase?: string;
  private width = 12;
  private readonly live: boolean;
  private readonly throttleMs: number;
  /** Lines of the live region now on screen, under the cursor's line. */
  private drawn = 0;
  private lastDraw = 0;
  private timer?: ReturnType<typeof setTimeout>;
  private ticker?: ReturnType<typeof setInterval>;
  private readonly badge: string;
  /** Prompts and messages on the terminal now: no live lines while there are any. */
  private held = 0;
  private resumeAfterPause?: () => void;

  constructor(
    private readonly out: Output,
    opts: RunDisplayOptions = {},
  ) {
    this.live = out.isTTY;
    this.badge = opts.badge ?? '';
    this.tails = new LogTails(opts.tailLines ?? 20);
    this.throttleMs = opts.throttleMs ?? 100;
  }

  onEvent(e: RunEvent): void {
    switch (e.type) {
      case 'run-started': {
        this.run = {
          runId: e.runId,
          runDir: e.runDir,
          ...(e.planFile ? { planFile: e.planFile } : {}),
        };
        for (const s of e.steps) {
          this.steps.set(s.id, {
            id: s.id,
            title: s.title,
            phase: s.phase,
            hosts: new Map(s.hosts.map((h) => [h, 'pending'])),
          });
        }
        this.width = Math.max(12, ...e.steps.map((s) => s.id.length));
        const hosts = new Set(e.steps.flatMap((s) => s.hosts)).size;
        this.permanent(
          `${this.badge}${paint(this.out, 'bold', `run ${e.runId}`)}${e.resumed ? ' (resumed)' : ''}: ` +
            `${plural(e.steps.length, 'step')} on ${plural(hosts, 'host')}\n` +
            paint(this.out, 'dim', `  folder ${e.runDir}\n`),
        );
        break;
      }
      case 'step-started': {
        const step = this.step(e.stepId);
        step.started ??= e.time;
        for (const h of e.hosts) if (!step.hosts.has(h)) step.hosts.set(h, 'pending');
        this.header(step.phase);
        this.startTicker();
        this.changed();
        break;
      }
      case 'host-step-started':
        this.step(e.stepId).hosts.set(e.host, 'running');
        this.tails.start(e.stepId, e.host);
        this.changed();
        break;
      case 'log':
        // The engine's bookkeeping (uploads, checks) is for --verbose and the log files.
        if (e.stream !== 'engine') this.tails.add(e.stepId, e.host, e.data);
        break;
      case 'host-step-finished': {
        this.step(e.stepId).hosts.set(e.host, e.state);
        const tail = this.tails.end(e.stepId, e.host);
        if (FAILED.has(e.state)) this.failure(e, tail);
        else this.changed();
        break;
      }
      case 'host-step-retrying':
        this.step(e.stepId).hosts.set(e.host, 'pending');
        this.permanent(
          paint(
            this.out,
            'yellow',
            `  ↻ ${e.stepId} on ${e.host}: attempt ${e.attempt} in ${seconds(e.delayMs)}\n`,
          ),
        );
        break;
      case 'timeout-warning':
        this.permanent(
          paint(
            this.out,
            'yellow',
            `  ⏱ ${e.stepId} on ${e.host}: still running after ${seconds(e.elapsedMs)} (soft timeout); Ctrl-C cancels the run\n`,
          ),
        );
        break;
      case 'step-skipped': {
        const step = this.step(e.stepId);
        this.header(step.phase);
        step.finished = true;
        this.permanent(
          `  ${paint(this.out, 'dim', `↷ ${step.id.padEnd(this.width)}  skipped: ${e.reason}`)}\n`,
        );
        break;
      }
      case 'step-finished': {
        const step = this.step(e.stepId);
        if (step.finished) break; // a skipped step already has its line
        step.finished = true;
        this.permanent(`${this.finalLine(step, e.state, e.time)}\n`);
        break;
      }
      case 'run-paused':
        // The command asks on the terminal now: the question must not be drawn over.
        this.resumeAfterPause = this.suspend();
        break;
      case 'decision-taken':
        this.resumeAfterPause?.();
        this.resumeAfterPause = undefined;
        break;
      case 'warning':
        this.permanent(paint(this.out, 'yellow', `warning: ${e.message}\n`));
        break;
      case 'run-finished':
        this.stopTimers();
        this.permanent(
          `\n${this.badge}${paint(this.out, e.state === 'succeeded' ? 'green' : 'red', `run ${e.runId} ${e.state}`)} ${paint(this.out, 'dim', formatCounts(e.counts))}\n`,
        );
        break;
      default:
        throw unreachable(e);
    }
  }

  note(text: string): void {
    this.permanent(`${this.badge}${paint(this.out, 'yellow', text)}\n`);
  }

  summary(lines: string[]): void {
    this.permanent(lines.map((l) => `${this.badge}${l}\n`).join(''));
  }

  next(next: NextCommands): void {
    this.permanent(
      (next.resume ? paint(this.out, 'bold', `To continue this run: ${next.resume}\n`) : '') +
        paint(this.out, 'dim', `${this.badge}Logs: ${next.logs}\n`),
    );
  }

  suspend(): () => void {
    this.held++;
    if (this.live) this.out.stdout(this.erase());
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.held--;
      this.draw();
    };
  }

  dispose(): void {
    this.stopTimers();
  }

  private step(id: string): StepLine {
    let step = this.steps.get(id);
    if (!step) {
      step = { id, title: id, phase: '', hosts: new Map() };
      this.steps.set(id, step);
    }
    return step;
  }

  private header(phase: string): void {
    if (phase === this.phase) return;
    this.phase = phase;
    const steps = [...this.steps.values()].filter((s) => s.phase === phase).length;
    const name = phaseName(phase);
    this.permanent(
      `\n${paint(this.out, 'bold', `── phase ${phase}${name ? ` (${name})` : ''}: ${plural(steps, 'step')} ──`)}\n`,
    );
  }

  private failure(e: Extract<RunEvent, { type: 'host-step-finished' }>, lines: string[]): void {
    const why = [
      e.exitCode !== undefined ? `exit ${e.exitCode}` : undefined,
      `attempt ${e.attempt}`,
    ].filter(Boolean);
    let text = paint(
      this.out,
      'red',
      `  ✗ ${e.stepId} ${e.state} on ${e.host} (${why.join(', ')})${e.message ? `: ${e.message}` : ''}\n`,
    );
    if (lines.length) {
      text += paint(this.out, 'dim', `    last ${plural(lines.length, 'line')} of its log:\n`);
      text += lines.map((l) => `    ${paint(this.out, 'dim', '│')} ${l}\n`).join('');
    }
    if (this.run) {
      text += `    the whole log: ${paint(this.out, 'bold', logsCommand(this.run, e.stepId, e.host))}\n`;
    }
    this.permanent(text);
  }

  private finalLine(step: StepLine, state: State, time: number): string {
    const c = hostCounts(step);
    const mark = stateMark(state);
    const took = step.started !== undefined ? `  ${seconds(time - step.started)}` : '';
    const bad = c.failed ? paint(this.out, 'red', `, ${c.failed} failed`) : '';
    return (
      `  ${paint(this.out, mark.color, `${mark.sign} ${step.id.padEnd(this.width)}`)}  ` +
      `${c.done}/${c.total} host${c.total === 1 ? '' : 's'} ${state}${bad}${paint(this.out, 'dim', `${took}  ${step.title}`)}`
    );
  }

  /**
   * The live line of a running step, cut to one column less than the terminal's width: a
   * line that wraps would take two rows and the redraw would move up too few
   * (docs/upstream-facts.md#term.autowrap).
   */
  private liveLine(step: StepLine, now: number, columns: number): string {
    const c = hostCounts(step);
    const barWidth = 20;
    const full = c.total ? Math.round((barWidth * (c.done + c.failed)) / c.total) : 0;
    const segments: Segment[] = [
      [`  ▶ ${step.id.padEnd(this.width)}  `, 'bold'],
      ['█'.repeat(full), c.failed ? 'red' : 'green'],
      ['░'.repeat(barWidth - full), 'dim'],
      [`  ${c.done}/${c.total} done, ${c.running} running`],
      ...(c.failed ? [[`, ${c.failed} failed`, 'red'] as Segment] : []),
      [
        `  ${step.started !== undefined ? seconds(Math.max(0, now - step.started)) : ''}  ${step.title}`,
        'dim',
      ],
    ];
    return this.fit(segments, columns - 1);
  }

  private fit(segments: Segment[], width: number): string {
    let room = Math.max(0, width);
    let line = '';
    for (const [text, color] of segments) {
      const chars = [...text];
      const part = chars.slice(0, room).join('');
      room -= Math.min(room, chars.length);
      if (part) line += color ? paint(this.out, color, part) : part;
      if (!room) break;
    }
    return line;
  }

  /** Prints lines that stay, above the live lines, and draws those again under them. */
  private permanent(text: string): void {
    if (!this.live) {
      this.out.stdout(text);
      return;
    }
    this.out.stdout(this.erase() + text);
    this.draw();
  }

  private changed(): void {
    if (!this.live || this.timer) return;
    const wait = this.lastDraw + this.throttleMs - Date.now();
    if (wait <= 0) {
      this.draw();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, wait);
    this.timer.unref?.();
  }

  /**
   * Moves the cursor up over the live lines and clears them and what is below (CUU, then ED:
   * docs/upstream-facts.md#term.cuu-ed).
   */
  private erase(): string {
    const text = this.drawn ? `\x1b[${this.drawn}A\r\x1b[J` : '';
    this.drawn = 0;
    return text;
  }

  private draw(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.live || this.held) return;
    const now = Date.now();
    const columns = this.out.columns?.() ?? 80;
    const running = [...this.steps.values()].filter((s) => s.started !== undefined && !s.finished);
    const shown = running.slice(0, 10);
    const lines = shown.map((s) => `${this.liveLine(s, now, columns)}\n`);
    if (running.length > shown.length) {
      lines.push(
        `${this.fit([[`  … ${running.length - shown.length} more running`, 'dim']], columns - 1)}\n`,
      );
    }
    this.out.stdout(this.erase() + lines.join(''));
    this.drawn = lines.length;
    this.lastDraw = now;
  }

  private startTicker(): void {
    if (!this.live || this.ticker) return;
    // The elapsed time on the live lines moves once a second even when nothing happens.
    this.ticker = setInterval(() => this.changed(), 1000);
    this.ticker.unref?.();
  }

  private stopTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.ticker) clearInterval(this.ticker);
    this.timer = undefined;
    this.ticker = undefined;
  }
}

function hostCounts(step: StepLine): {
  total: number;
  done: number;
  running: number;
  failed: number;
} {
  const c = { total: step.hosts.size, done: 0, running: 0, failed: 0 };
  for (const s of step.hosts.values()) {
    if (s === 'running') c.running++;
    else if (s === 'succeeded' || s === 'skipped') c.done++;
    else if (s !== 'pending' && ENDED_BAD.has(s)) c.failed++;
  }
  return c;
}

/**
 * `--json`: every engine event as it comes (without `log` unless `--verbose`), then the
 * CLI's own: `failure` (a host's log tail and the command for the rest), `note`, `summary`,
 * `next`. One JSON object per line; nothing else goes to stdout.
 */
export class JsonRunDisplay implements RunDisplay {
  private readonly tails = new LogTails();
  private run?: { runId: string; runDir: string; planFile?: string };

  constructor(
    private readonly out: Output,
    private readonly withLogs: boolean,
  ) {}

  onEvent(e: RunEvent): void {
    if (e.type === 'run-started') {
      this.run = {
        runId: e.runId,
        runDir: e.runDir,
        ...(e.planFile ? { planFile: e.planFile } : {}),
      };
    }
    if (e.type === 'host-step-started') this.tails.start(e.stepId, e.host);
    if (e.type === 'log' && e.stream !== 'engine') this.tails.add(e.stepId, e.host, e.data);
    if (e.type !== 'log' || this.withLogs) this.line(e);
    if (e.type === 'host-step-finished') {
      const logTail = this.tails.end(e.stepId, e.host);
      if (FAILED.has(e.state)) {
        this.line({
          type: 'failure',
          runId: e.runId,
          time: e.time,
          stepId: e.stepId,
          host: e.host,
          attempt: e.attempt,
          state: e.state,
          ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}),
          ...(e.message ? { message: e.message } : {}),
          logTail,
          ...(this.run ? { logsCommand: logsCommand(this.run, e.stepId, e.host) } : {}),
        });
      }
    }
  }

  note(text: string): void {
    this.line({ type: 'note', time: Date.now(), text });
  }

  summary(lines: string[]): void {
    this.line({ type: 'summary', time: Date.now(), lines });
  }

  next(next: NextCommands): void {
    this.line({ type: 'next', time: Date.now(), ...next });
  }

  suspend(): () => void {
    return () => undefined;
  }

  dispose(): void {}

  private line(value: object): void {
    this.out.stdout(`${JSON.stringify(value)}\n`);
  }
}

/** The last lines of each running host-step's output, for `failure` events. */
class LogTails {
  private readonly tails = new Map<string, { lines: string[]; partial: string }>();

  constructor(private readonly keep = 20) {}

  start(step: string, host: string): void {
    this.tails.set(`${step}\0${host}`, { lines: [], partial: '' });
  }

  add(step: string, host: string, data: string): void {
    const key = `${step}\0${host}`;
    let t = this.tails.get(key);
    if (!t) this.tails.set(key, (t = { lines: [], partial: '' }));
    const parts = (t.partial + data).split('\n');
    t.partial = parts.pop()!;
    t.lines.push(...parts.map((l) => l.replace(/\r$/, '')));
    if (t.lines.length > this.keep) t.lines.splice(0, t.lines.length - this.keep);
  }

  end(step: string, host: string): string[] {
    const key = `${step}\0${host}`;
    const t = this.tails.get(key);
    this.tails.delete(key);
    if (!t) return [];
    return [...t.lines, ...(t.partial ? [t.partial] : [])].slice(-this.keep);
  }
}

/** `--verbose`: today's full view, every host's output and the engine's bookkeeping. */
class VerboseRunDisplay implements RunDisplay {
  private readonly view: RunView;

  constructor(
    private readonly out: Output,
    private readonly badge: string,
  ) {
    this.view = new RunView(out);
  }

  onEvent(e: RunEvent): void {
    this.view.onEvent(e);
  }

  note(text: string): void {
    this.out.stdout(`${this.badge}${paint(this.out, 'yellow', text)}\n`);
  }

  summary(lines: string[]): void {
    this.out.stdout(lines.map((l) => `${this.badge}${l}\n`).join(''));
  }

  next(next: NextCommands): void {
    this.out.stdout(
      (next.resume ? paint(this.out, 'bold', `\nTo continue this run: ${next.resume}\n`) : '') +
        paint(this.out, 'dim', `${this.badge}Logs: ${next.logs}\n`),
    );
  }

  suspend(): () => void {
    return () => undefined;
  }

  dispose(): void {}
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

function unreachable(x: never): Error {
  return new Error(`unknown event ${(x as { type: string }).type}`);
}
