/**
 * UI logs: a step printing 100,000 coloured lines streamed to the Install page in Chromium.
 *
 * Browser mode as a consultant uses it: the real server, the renderer built fresh, Debian's
 * Chromium, a lab host (root: network namespaces) reached over SSH by the real engine. The
 * page follows the step's log in xterm.js while it streams. Measured:
 *  - click latency while streaming: from a click's input event to the next frame painted
 *    after its handler (goal < 200 ms), median and p95 over clicks every 250 ms;
 *  - the renderer's JS heap (CDP Runtime.getHeapUsage) before, at its peak while streaming,
 *    and after: bounded means far below the log's own size;
 *  - the time from Start to the last line on screen, against the same command through
 *    OpenSSH piped to `cat` (the floor of producing and carrying the bytes), and against
 *    `cat` of the log file the run wrote (reading it back locally).
 * Run: `node bin/run-ts.mjs bench/ui-logs.ts [LINES] [--profile]` (or `npm run bench -- ui-logs`).
 */
import { execFile } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import { unwrap } from '../src/api/index.js';
import { createCore } from '../src/app/index.js';
import type { StepSpec } from '../src/engine/index.js';
import { loadPlanFile } from '../src/plan/load.js';
import { planToYaml } from '../src/plan/save.js';
import { buildRenderer } from '../src/server/renderer-build.js';
import { startServer } from '../src/server/server.js';
import { createLab } from '../test/lab/lab.js';
import { labUnavailableReason } from '../test/lab/require-lab.js';
import { CHROMIUM_ARGS as ARGS } from '../test/support/chromium.js';

const LINES = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 100_000);
/** `--profile`: a CPU profile of the page while it streams, its top functions by self time. */
const PROFILE = process.argv.includes('--profile');
const STEP = 'bench.lines';
/** Colours cycle, so the terminal parses escape sequences on every line. */
const COMMAND = `awk 'BEGIN { for (i = 1; i <= ${LINES}; i++) printf "\\033[3%dmline %06d\\033[0m the quick brown fox jumps over the lazy dog\\n", i % 7 + 1, i }'`;
const LAST = `line ${String(LINES).padStart(6, '0')}`;

const run = promisify(execFile);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;
const ms = (x: number) => `${x.toFixed(0)} ms`;
const mb = (x: number) => `${(x / 1e6).toFixed(1)} MB`;

/*
 * In-page probe, as source text (this file is Node code, type-checked without the DOM): a
 * click's latency runs from its input event's timestamp to the first frame painted after
 * its handlers — rAF runs before that paint, a task queued from rAF after it.
 */
const PROBE_CLICKS = `(() => {
  window.clickSamples = [];
  document.addEventListener('click', (e) => {
    const t0 = e.timeStamp;
    requestAnimationFrame(() => setTimeout(() => window.clickSamples.push(performance.now() - t0), 0));
  }, true);
})()`;
const LAST_LINE_SHOWN = `(() => {
  const rows = document.querySelector('[data-testid="log-view"] .xterm-rows');
  return !!rows && rows.textContent.includes(${JSON.stringify(LAST)});
})()`;

interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function (and per script), the largest first. */
function printTopFunctions(what: string, profile: CpuProfile): void {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const f = byNode.get(id)!;
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    const where = f.url ? `${f.url.split('/').pop()}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  console.log(`${what}: CPU profile while streaming (${ms(total)} sampled), top self time:`);
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
    console.log(`  ${ms(v).padStart(8)}  ${((v / total) * 100).toFixed(1).padStart(5)} %  ${k}`);
  }
}

/**
 * Milliseconds the page's main thread has spent on tasks (CDP Performance.TaskDuration): on
 * a machine busy with other work, less noisy than the wall clock.
 */
async function pageBusy(cdp: CDPSession): Promise<number> {
  const { metrics } = (await cdp.send('Performance.getMetrics')) as {
    metrics: { name: string; value: number }[];
  };
  return (metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0) * 1000;
}

/**
 * CPU milliseconds Chromium's renderer processes have used (CDP SystemInfo): what the page
 * costs, whatever else the machine runs.
 */
async function rendererCpu(browser: Browser): Promise<number> {
  const cdp = await browser.newBrowserCDPSession();
  try {
    const { processInfo } = (await cdp.send('SystemInfo.getProcessInfo')) as {
      processInfo: { type: string; cpuTime: number }[];
    };
    return (
      processInfo.filter((p) => p.type === 'renderer').reduce((n, p) => n + p.cpuTime, 0) * 1000
    );
  } finally {
    await cdp.detach();
  }
}

async function heap(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('HeapProfiler.collectGarbage');
    const { usedSize } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
    return usedSize;
  } finally {
    await cdp.detach();
  }
}

async function main(): Promise<void> {
  const why = labUnavailableReason();
  if (why) throw new Error(`bench/ui-logs needs the test lab: ${why}`);
  const work = await mkdtemp(join(tmpdir(), 'ustart-bench-logs-'));
  const rendererDir = join(work, 'renderer');
  const lab = await createLab({ hosts: 1 });
  const host = lab.hosts[0]!;
  const steps: StepSpec[] = [
    {
      id: STEP,
      title: `Print ${LINES.toLocaleString('en')} lines`,
      phase: 'connect',
      targets: [host.name],
      run: COMMAND,
    },
  ];
  const core = createCore({
    mode: 'browser',
    stateDir: join(work, 'state'),
    root: work,
    hostPages: {
      stepSource: async () => steps,
      readOnlyKnownHosts: [lab.knownHostsPath],
      sshConfigFile: null,
      clusterLock: false,
    },
  });
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
  try {
    await writeFile(join(work, 'site.yaml'), planToYaml((await loadPlanFile(lab.planPath)).plan!));
    const { settings } = unwrap(await core.client.accessGet({ planFile: 'site.yaml' }));
    unwrap(
      await core.client.accessSet({
        planFile: 'site.yaml',
        settings: { ...settings, keyPath: lab.clientKeyPath, agent: false },
      }),
    );
    await buildRenderer(rendererDir);
    server = await startServer({ core, rendererDir });

    // Reference: the same command through OpenSSH, its output piped to cat.
    const sshArgs = [
      '-i',
      lab.clientKeyPath,
      '-o',
      `UserKnownHostsFile=${lab.knownHostsPath}`,
      '-o',
      'BatchMode=yes',
      '-p',
      String(host.port),
      `root@${host.address}`,
      COMMAND,
    ];
    const sshTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await run('sh', ['-c', `ssh "$@" | cat > /dev/null`, 'sh', ...sshArgs], {
        maxBuffer: 1 << 20,
      });
      sshTimes.push(performance.now() - t0);
    }

    const page = await browser.newPage({ viewport: { width: 1400, height: 900 }, bypassCSP: true });
    page.on('dialog', (d) => void d.accept());
    await page.goto(server.url);
    await page.getByTestId('open').click();
    await page.getByTestId('path-input').fill('site.yaml');
    await page.getByTestId('path-ok').click();
    await page.getByTestId('page-install').click();
    await page.getByTestId('phase-umetal').uncheck();
    await page.getByTestId('phase-connect').check();
    await page.getByTestId(`runstep-${STEP}`).waitFor();
    await page.evaluate(PROBE_CLICKS);
    const heapBefore = await heap(page);

    const profiler = PROFILE ? await page.context().newCDPSession(page) : undefined;
    if (profiler) {
      await profiler.send('Profiler.enable');
      await profiler.send('Profiler.setSamplingInterval', { interval: 200 });
      await profiler.send('Profiler.start');
    }
    // The core (engine, server) runs in this process: its profile too.
    const nodeProfiler = PROFILE ? new Session() : undefined;
    if (nodeProfiler) {
      nodeProfiler.connect();
      await nodeProfiler.post('Profiler.enable');
      await nodeProfiler.post('Profiler.start');
    }
    // One session for the metrics: they count from its Performance.enable.
    const metrics = await page.context().newCDPSession(page);
    await metrics.send('Performance.enable');
    const busyBefore = await pageBusy(metrics);
    const cpuBefore = await rendererCpu(browser);
    const t0 = performance.now();
    await page.getByTestId('run-start').click();
    await page.getByTestId(`cell-${STEP}-${host.name}`).click();
    await page.getByTestId('log-view').waitFor();
    // Clicks while it streams: the step's entry in the list (it re-selects the same log).
    let peak = heapBefore;
    let shown = false;
    const clicks = (async () => {
      while (!shown) {
        await page.getByTestId(`runstep-${STEP}`).click();
        await page.waitForTimeout(250);
      }
    })();
    // Retained memory (after a forced GC) is what must stay bounded; garbage between
    // collections is the browser's business. Both are shown.
    let peakWithGarbage = heapBefore;
    const sampler = (async () => {
      while (!shown) {
        const cdp = await page.context().newCDPSession(page);
        const raw = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
        await cdp.detach();
        peakWithGarbage = Math.max(peakWithGarbage, raw.usedSize);
        peak = Math.max(peak, await heap(page));
        await page.waitForTimeout(500);
      }
    })();
    await page.waitForFunction(LAST_LINE_SHOWN, undefined, { timeout: 600_000, polling: 50 });
    const toLastLine = performance.now() - t0;
    // Lines the viewer skipped to keep up (it draws only the tail xterm keeps while behind).
    const skipped = Number(
      (await page.getByTestId('log-chars').getAttribute('data-skipped')) ?? Number.NaN,
    );
    const busy = (await pageBusy(metrics)) - busyBefore;
    const cpu = (await rendererCpu(browser)) - cpuBefore;
    await metrics.detach();
    shown = true;
    if (profiler) {
      const { profile } = (await profiler.send('Profiler.stop')) as { profile: CpuProfile };
      await profiler.detach();
      printTopFunctions('page', profile);
    }
    if (nodeProfiler) {
      const { profile } = await nodeProfiler.post('Profiler.stop');
      nodeProfiler.disconnect();
      printTopFunctions('core (Node)', profile as CpuProfile);
    }
    await Promise.all([clicks, sampler]);
    await page.locator('[data-testid="run-state"]:text("succeeded")').waitFor();
    const samples = await page.evaluate<number[]>('window.clickSamples');
    const heapAfter = await heap(page);

    // Reference: reading the log file the run wrote.
    const runs = unwrap(await core.client.runList({ planFile: 'site.yaml' })).runs;
    const logFile = join(work, '.ustart', 'runs', runs[0]!.runId, 'logs', STEP, `${host.name}.log`);
    const logBytes = (await stat(logFile)).size;
    const catTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const c0 = performance.now();
      await run('sh', ['-c', 'cat "$1" > /dev/null', 'sh', logFile]);
      catTimes.push(performance.now() - c0);
    }

    const ssh = median(sshTimes);
    const cat = median(catTimes);
    console.log(`lines: ${LINES.toLocaleString('en')}, log file ${mb(logBytes)}`);
    console.log(
      `click latency while streaming: median ${ms(median(samples))}, p95 ${ms(p95(samples))}, max ${ms(Math.max(...samples))} over ${samples.length} clicks (goal < 200 ms)`,
    );
    console.log(
      `renderer heap (retained, after GC): before ${mb(heapBefore)}, peak while streaming ${mb(peak)}, after ${mb(heapAfter)}; peak growth ${mb(peak - heapBefore)} = ${((peak - heapBefore) / logBytes).toFixed(2)}× the log's size (with garbage: peak ${mb(peakWithGarbage)})`,
    );
    console.log(
      `Start → last line on screen: ${ms(toLastLine)}; the page's main thread busy ${ms(busy)} of it, renderer CPU ${ms(cpu)} (${mb(logBytes / (cpu / 1000))} per CPU second)`,
    );
    console.log(
      `  lines the viewer skipped while behind (a marker in their place): ${skipped.toLocaleString('en')}`,
    );
    console.log(`  ssh CMD | cat: ${ms(ssh)}  → UI / ssh|cat = ${(toLastLine / ssh).toFixed(2)}×`);
    console.log(
      `  throughput: UI ${mb(logBytes / (toLastLine / 1000))}/s, ssh|cat ${mb(logBytes / (ssh / 1000))}/s → ${(ssh / toLastLine).toFixed(2)}× of ssh|cat`,
    );
    console.log(`  cat LOGFILE:   ${ms(cat)}  → UI / cat = ${(toLastLine / cat).toFixed(1)}×`);
  } finally {
    await browser.close();
    await server?.close();
    await core.dispose();
    await lab.dispose();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
