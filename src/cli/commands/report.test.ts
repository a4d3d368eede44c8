/**
 * `ustart report`: the handover report from the command line, as HTML and as PDF printed by
 * the machine's Chromium; with --run, the install summary of a real run (made here by the
 * run service with commands run as local processes, test/support/local-transport.ts).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../../test/support/local-transport.js';
import { unwrap } from '../../api/index.js';
import { createCore } from '../../app/core.js';
import { loadPlanFile } from '../../plan/load.js';
import { assetPath } from '../../util/assets.js';
import { EXIT, main } from '../main.js';
import { bufferOutput } from '../output.js';
import { CHROMIUM_CANDIDATES, findChromium } from './report-pdf.js';

const DEMO = assetPath('samples', 'demo-stuttgart.yaml');
let dir: string;
let plan: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-report-cli-'));
  plan = join(dir, 'site.yaml');
  await copyFile(DEMO, plan);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function report(...args: string[]) {
  const out = bufferOutput();
  const code = await main(['node', 'ustart', 'report', plan, ...args], out);
  return { code, out: out.out, err: out.err };
}

/** The headings of the report's sections, in order. */
const headings = (html: string) => [...html.matchAll(/<h2[^>]*>([^<]*)<\/h2>/g)].map((m) => m[1]);

/** A finished run of the plan with one uMetal step, made by the real run service. */
async function makeRun(): Promise<string> {
  const host = (await loadPlanFile(plan)).plan!.servers[0]!.hostname;
  const transport = new LocalTransport({ env: { WORK: dir } });
  const core = createCore({
    mode: 'test',
    stateDir: join(dir, '.state'),
    hostPages: {
      stepSource: async () => [
        { id: 'umetal.all', title: 'uMetal', phase: 'umetal', targets: [host], run: 'echo ok' },
      ],
      runTransport: async () => transport,
      clusterLock: false,
    },
  });
  try {
    const done = new Promise<string>((resolve) => {
      const off = core.client.on('run:changed', (e) => {
        if (e.state !== 'running') {
          off();
          resolve(e.state);
        }
      });
    });
    const { runId } = unwrap(await core.client.runStart({ planFile: plan, phases: ['umetal'] }));
    expect(await done).toBe('succeeded');
    return runId;
  } finally {
    await core.dispose();
  }
}

/** The report's sections after Site (and the install summary, when there is one). */
const SECTIONS = [
  'Rack diagrams',
  'IP plan',
  'Roles',
  'Capacity',
  'OpenStack endpoint names',
  'Findings',
];

describe('ustart report', () => {
  it('writes the HTML report with the sections the app shows, capacity included', async () => {
    const file = join(dir, 'report.html');
    const r = await report('--out', file);
    expect(r.err).toBe('');
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toBe(`wrote the handover report of demo-stuttgart to ${file}\n`);
    const html = await readFile(file, 'utf8');
    expect(headings(html)).toEqual(['Site', ...SECTIONS]);
    expect(html).toContain('<title>Handover report – demo-stuttgart</title>');
    expect(html).toMatch(/R01 · 42 U/);
    expect(html).not.toContain('id="install-summary"');
  });

  it('in German with --lang de', async () => {
    const file = join(dir, 'bericht.html');
    expect((await report('--out', file, '--lang', 'de')).code).toBe(EXIT.ok);
    const html = await readFile(file, 'utf8');
    expect(html).toContain('<html lang="de">');
    expect(headings(html)).toContain('Kapazität');
  });

  it('adds the install summary of a run with --run', async () => {
    const runId = await makeRun();
    const file = join(dir, 'handover.html');
    const r = await report('--run', runId, '--out', file);
    expect(r.err).toBe('');
    expect(r.code).toBe(EXIT.ok);
    expect(r.out).toContain(`with run ${runId}`);
    const html = await readFile(file, 'utf8');
    expect(headings(html)).toEqual(['Site', 'Install summary', ...SECTIONS]);
    const install = html.slice(html.indexOf('id="install-summary"'), html.indexOf('<h2>Rack'));
    expect(install).toContain(runId);
    expect(install).toContain('/etc/kubernetes/admin.conf on ');
  });

  it('names an unknown run and the command that lists the runs', async () => {
    const r = await report('--run', 'r-2026-01-01T00-00-00', '--out', join(dir, 'r.html'));
    expect(r.code).toBe(EXIT.unreadable);
    expect(r.err).toBe(
      `ustart: there is no run r-2026-01-01T00-00-00 of ${plan}; \`ustart runs ${plan}\` lists its runs.\n`,
    );
  });

  it('refuses an output that is neither .html nor .pdf, and a language it has not', async () => {
    const txt = await report('--out', join(dir, 'r.txt'));
    expect(txt.code).toBe(EXIT.unreadable);
    expect(txt.err).toContain('name a .html or a .pdf file');
    const fr = await report('--out', join(dir, 'r.html'), '--lang', 'fr');
    expect(fr.code).toBe(EXIT.unreadable);
    expect(fr.err).toContain('--lang fr: give en or de.');
  });

  it('shows the schema findings of a plan it cannot read as a plan', async () => {
    await writeFile(plan, (await readFile(plan, 'utf8')).replace(/^site:/m, 'sight:'));
    const r = await report('--out', join(dir, 'r.html'));
    expect(r.code).toBe(EXIT.invalid);
    expect(r.err).toContain('does not match the plan format');
    await expect(stat(join(dir, 'r.html'))).rejects.toThrow();
  });
});

describe('finding a Chromium to print with', () => {
  it('takes CHROMIUM_PATH, names it when it does not exist, else the first candidate', () => {
    expect(findChromium({ CHROMIUM_PATH: process.execPath })).toBe(process.execPath);
    expect(() => findChromium({ CHROMIUM_PATH: join(dir, 'none') })).toThrow(
      `CHROMIUM_PATH is set to ${join(dir, 'none')}, which does not exist`,
    );
    expect(findChromium({})).toBe(CHROMIUM_CANDIDATES.find((c) => existsSync(c)));
  });
});

const chromium = findChromium({});

describe.skipIf(!chromium)('ustart report as PDF', () => {
  it('prints the report with Chromium: a PDF whose text names the site', async () => {
    const file = join(dir, 'report.pdf');
    const r = await report('--out', file);
    expect(r.err).toBe('');
    expect(r.code).toBe(EXIT.ok);
    const pdf = await readFile(file);
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.length).toBeGreaterThan(10_000);
    const text = await promisify(execFile)('pdftotext', ['-layout', file, '-']).then(
      (o) => o.stdout,
      () => undefined,
    );
    // pdftotext comes with poppler-utils (CI installs it); without it the header suffices.
    if (text !== undefined) {
      expect(text).toContain('Handover report: demo-stuttgart');
      expect(text).toContain('Capacity');
    }
  }, 60_000);
});
