import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isUstartError } from '../errors.js';
import { assetPath } from '../util/assets.js';
import {
  checkPlanFile,
  loadPlanFile,
  parsePlanBytes,
  parsePlanText,
  savePlanFile,
} from './index.js';

const DEMO = assetPath('samples', 'demo-stuttgart.yaml');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-plan-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function demoText(): Promise<string> {
  return readFile(DEMO, 'utf8');
}

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('loading a plan', () => {
  it('loads the demo sample with no findings', async () => {
    const checked = await checkPlanFile(DEMO);
    expect(checked.plan?.servers).toHaveLength(10);
    expect(checked.findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(checked.valid).toBe(true);
  });

  it('reads a file with a BOM and CRLF line endings', async () => {
    const text = '\ufeff' + (await demoText()).replace(/\n/g, '\r\n');
    const parsed = parsePlanText(text, 'crlf.yaml');
    expect(parsed.plan?.site.name).toBe('demo-stuttgart');
  });

  it('reports malformed YAML with file, line and column', () => {
    const e = thrown(() => parsePlanText('schemaVersion: 1\nsite: [unclosed\n', 'broken.yaml'));
    expect(isUstartError(e, 'PlanSyntax')).toBe(true);
    expect((e as Error).message).toMatch(/^broken\.yaml:\d+:\d+: /);
  });

  it('refuses duplicate keys and names the line', () => {
    const e = thrown(() => parsePlanText('schemaVersion: 1\nsite: {}\nsite: {}\n', 'dup.yaml'));
    expect(isUstartError(e, 'PlanSyntax')).toBe(true);
    expect((e as Error).message).toMatch(/dup\.yaml:3:1: a key appears twice/);
  });

  it('refuses empty, binary and non-UTF-8 files with a clear message', () => {
    expect((thrown(() => parsePlanText('  \n', 'empty.yaml')) as Error).message).toMatch(
      /empty\.yaml is empty/,
    );
    expect(
      (thrown(() => parsePlanBytes(Uint8Array.of(0x89, 0x50, 0, 1), 'x.png')) as Error).message,
    ).toMatch(/binary file/);
    expect(
      (thrown(() => parsePlanBytes(Uint8Array.of(0x66, 0xff, 0xfe), 'latin.yaml')) as Error)
        .message,
    ).toMatch(/not UTF-8/);
  });

  it('refuses a file over 10 MB without reading it whole', async () => {
    const big = join(dir, 'big.yaml');
    await writeFile(big, Buffer.alloc(10 * 1024 * 1024 + 1, 0x20));
    await expect(loadPlanFile(big)).rejects.toThrow(/at most 10 MB/);
  });

  it('names a missing file', async () => {
    await expect(loadPlanFile(join(dir, 'nope.yaml'))).rejects.toThrow(/nope\.yaml does not exist/);
  });

  it('turns wrong types and unknown fields into findings with a did-you-mean', async () => {
    const text = (await demoText())
      .replace('memoryGiB: 256', 'memoryGiB: "256 GB"')
      .replace('airGapped: false', 'airGaped: false');
    const parsed = parsePlanText(text, 'typo.yaml');
    expect(parsed.plan).toBeUndefined();
    const byRule = Object.fromEntries(parsed.findings.map((f) => [f.path, f]));
    expect(byRule['/servers/0/memoryGiB']).toMatchObject({
      rule: 'schema-type',
      line: expect.any(Number),
    });
    expect(byRule['/site/airGaped']?.message).toMatch(/did you mean "airGapped"/);
  });

  it('refuses a plan from a newer uStart and migrates an unversioned draft', async () => {
    const text = await demoText();
    const e = thrown(() =>
      parsePlanText(text.replace('schemaVersion: 1', 'schemaVersion: 7'), 'new.yaml'),
    );
    expect(isUstartError(e, 'PlanTooNew')).toBe(true);
    const draft = text
      .replace('schemaVersion: 1\n', '')
      .replace(/memoryGiB:/g, 'ram:')
      .replace(/roles:\n\s+- (\w+)/g, 'role: $1');
    const parsed = parsePlanText(draft, 'draft.yaml');
    expect(parsed.fromVersion).toBe(0);
    expect(parsed.findings).toEqual([]);
    expect(parsed.plan?.servers[0]?.memoryGiB).toBe(256);
    expect(parsed.plan?.servers[0]?.roles).toEqual(['controller']);
  });
});

describe('saving a plan', () => {
  it('keeps comments and key order, writes atomically and keeps a backup', async () => {
    const file = join(dir, 'site.yaml');
    const original = '# our site, agreed with the customer on 2026-11-02\n' + (await demoText());
    await writeFile(file, original);
    const parsed = await loadPlanFile(file);
    const plan = parsed.plan!;
    plan.servers[0]!.memoryGiB = 512;
    await savePlanFile(file, plan, { base: parsed.document, expectedText: original });
    const saved = await readFile(file, 'utf8');
    expect(saved).toContain('# our site, agreed with the customer on 2026-11-02');
    expect(saved).toContain('memoryGiB: 512');
    expect(saved.replace('memoryGiB: 512', 'memoryGiB: 256')).toBe(original);
    expect(await readFile(`${file}.bak`, 'utf8')).toBe(original);
  });

  it('refuses to overwrite a file another program changed since it was opened', async () => {
    const file = join(dir, 'site.yaml');
    const original = await demoText();
    await writeFile(file, original);
    const parsed = await loadPlanFile(file);
    await writeFile(file, original + '# edited elsewhere\n');
    await expect(
      savePlanFile(file, parsed.plan!, { base: parsed.document, expectedText: original }),
    ).rejects.toThrow(/changed by another program/);
    expect(await readFile(file, 'utf8')).toBe(original + '# edited elsewhere\n');
  });
});
