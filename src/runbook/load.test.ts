import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isUstartError, type UstartError } from '../errors.js';
import { GENERATOR_NAMES } from '../render/generators/index.js';
import {
  defaultRunbookDir,
  findCycles,
  loadRunbook,
  phaseSteps,
  type RunbookProblem,
} from './load.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-runbook-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes files under `root` (paths relative to it). */
async function tree(root: string, files: Record<string, string>): Promise<string> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
  return root;
}

async function problemsOf(promise: Promise<unknown>): Promise<RunbookProblem[]> {
  try {
    await promise;
  } catch (e) {
    expect(isUstartError(e, 'RunbookInvalid')).toBe(true);
    return (e as UstartError).detail.problems as RunbookProblem[];
  }
  throw new Error('expected the runbook to be rejected');
}

/** A runbook directory's scripts, and the default runbook's phase declaration (phases.yaml). */
const SCRIPTS = {
  'scripts/a.sh': 'true\n',
  'scripts/b.sh': 'true\n',
  'scripts/lib.sh': '\n',
  'phases.yaml': readFileSync(join(defaultRunbookDir(), 'phases.yaml'), 'utf8'),
};

function step(id: string, extra = ''): string {
  return `  - id: ${id}\n    title: Step ${id}\n    description: Does ${id}.\n    target: all\n    run: scripts/a.sh\n${extra}`;
}

describe('the default runbook', () => {
  it('loads, with every phase and every generator it names', async () => {
    const runbook = await loadRunbook([defaultRunbookDir()], { generators: GENERATOR_NAMES });
    expect(runbook.phases.map((p) => p.id)).toEqual([
      'os-install',
      'connect',
      'umetal',
      'ustack',
      'ugarden',
      'reset-ugarden',
      'reset-ustack',
      'reset-umetal',
    ]);
    for (const { id } of runbook.phases) expect(phaseSteps(runbook, id).length).toBeGreaterThan(0);
    // The OS install through the BMCs comes first, a built-in local action run on request.
    expect(runbook.steps[0]).toMatchObject({ id: 'umetal.os-install', local: 'os-install' });
    expect(runbook.phases[0]).toMatchObject({ id: 'os-install', onRequest: true });
    expect(runbook.steps[1]!.id).toBe('connect.facts');
    // Dependency order: every step comes after the steps it names.
    const seen = new Set<string>();
    for (const s of runbook.steps) {
      for (const dep of s.after) expect(seen.has(dep)).toBe(true);
      seen.add(s.id);
    }
  });

  it('joins the first controller before everyone else and the workers only with the join input', async () => {
    const runbook = await loadRunbook([defaultRunbookDir()], { generators: GENERATOR_NAMES });
    const init = runbook.byId.get('umetal.kubeadm-init')!;
    expect(init.target).toBe('first-controller');
    expect(init.outputs).toEqual([
      { name: 'join', path: '/var/lib/ustart/out/join.env', secret: true },
    ]);
    for (const id of ['umetal.join-controllers', 'umetal.join-workers']) {
      expect(runbook.byId.get(id)!.after).toContain('umetal.kubeadm-init');
      expect(runbook.byId.get(id)!.inputs).toEqual(['join']);
    }
  });
});

describe('rejecting a broken runbook', () => {
  it('names an unknown step in "after" with file, line and a suggestion', async () => {
    await tree(dir, {
      ...SCRIPTS,
      'one.yaml': `phase: umetal\nsteps:\n${step('umetal.first')}${step('umetal.second', '    after: [umetal.frist]\n')}`,
    });
    const [p, ...rest] = await problemsOf(loadRunbook([dir]));
    expect(rest).toEqual([]);
    expect(p).toMatchObject({ file: join(dir, 'one.yaml'), line: 13 });
    expect(p!.message).toContain(
      '"umetal.frist", which does not exist; did you mean "umetal.first"?',
    );
  });

  it('names the steps of a cycle', async () => {
    await tree(dir, {
      ...SCRIPTS,
      'one.yaml': `phase: umetal\nsteps:\n${step('a', '    after: [c]\n')}${step('b', '    after: [a]\n')}${step('c', '    after: [b]\n')}`,
    });
    const problems = await problemsOf(loadRunbook([dir]));
    expect(problems).toHaveLength(1);
    expect(problems[0]!.message).toMatch(
      /in a circle: (a → b → c → a|b → c → a → b|c → a → b → c)/,
    );
    expect(problems[0]!.line).toBeGreaterThan(2);
  });

  it('reports a duplicate id at the second declaration, naming the first', async () => {
    await tree(dir, {
      ...SCRIPTS,
      'one.yaml': `phase: umetal\nsteps:\n${step('a')}`,
      'two.yaml': `phase: umetal\nsteps:\n${step('a')}`,
    });
    const [p] = await problemsOf(loadRunbook([dir]));
    expect(p).toMatchObject({ file: join(dir, 'two.yaml'), line: 3 });
    expect(p!.message).toContain(`first at ${join(dir, 'one.yaml')}:3:`);
  });

  it('reports missing scripts and unknown generators where they are named', async () => {
    await tree(dir, {
      ...SCRIPTS,
      'one.yaml': `phase: umetal\nsteps:\n${step('a', '    check: { script: scripts/missing.sh }\n    files:\n      - path: /etc/x\n        generate: kubeadm-inti\n')}`,
    });
    const problems = await problemsOf(loadRunbook([dir], { generators: GENERATOR_NAMES }));
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringContaining('scripts/missing.sh does not exist'),
      expect.stringContaining('no generator "kubeadm-inti"; did you mean "kubeadm-init"?'),
    ]);
    expect(problems.map((p) => p.line)).toEqual([8, 11]);
  });

  it('names an unknown local action with file, line and the actions; a local step runs no script', async () => {
    const local = (id: string, action: string, extra = '') =>
      `  - id: ${id}\n    title: Step ${id}\n    description: Does ${id}.\n    target: all\n    local: ${action}\n${extra}`;
    await tree(dir, {
      ...SCRIPTS,
      'one.yaml': `phase: os-install\nsteps:\n${local('a', 'os-instal')}${local('b', 'os-install', '    run: scripts/a.sh\n    check: { command: "true" }\n')}  - id: c\n    title: Step c\n    description: Does c.\n    target: all\n`,
    });
    const problems = await problemsOf(loadRunbook([dir]));
    const file = join(dir, 'one.yaml');
    expect(problems).toEqual([
      expect.objectContaining({
        file,
        line: 7,
        message: expect.stringContaining(
          'no local action "os-instal"; did you mean "os-install"?; the local actions are os-install',
        ) as string,
      }),
      expect.objectContaining({
        file,
        line: 13,
        message: expect.stringContaining('it cannot have "run"') as string,
      }),
      expect.objectContaining({
        file,
        line: 14,
        message: expect.stringContaining('it cannot have "check"') as string,
      }),
      expect.objectContaining({
        file,
        line: 15,
        message: expect.stringContaining(
          'step "c" has neither "run" (a script) nor "local"',
        ) as string,
      }),
    ]);
  });

  it('reports YAML syntax and schema errors with their lines', async () => {
    await tree(dir, {
      ...SCRIPTS,
      'bad.yaml': 'phase: umetal\nsteps:\n  - id: a\n    title: [unclosed\n',
      'schema.yaml': `phase: umetal\nsteps:\n${step('b', '    retires: 2\n    timeout: 10 minutes\n')}`,
    });
    const problems = await problemsOf(loadRunbook([dir]));
    expect(problems[0]).toMatchObject({ file: join(dir, 'bad.yaml') });
    expect(problems[0]!.line).toBeGreaterThanOrEqual(4);
    const schema = problems.filter((p) => p.file.endsWith('schema.yaml'));
    expect(schema.map((p) => p.message)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('unknown field "retires"'),
        expect.stringContaining('/steps/0/timeout'),
      ]),
    );
    expect(schema.every((p) => p.line !== undefined && p.line >= 3)).toBe(true);
  });

  it('refuses "after" across phases and inputs nobody produces before the step', async () => {
    await tree(dir, {
      ...SCRIPTS,
      'one.yaml': `phase: umetal\nsteps:\n${step('a', '    outputs: [{ name: token, path: /var/lib/ustart/out/t }]\n')}${step('b', '    inputs: [token]\n')}${step('c', '    inputs: [nothing]\n')}`,
      'two.yaml': `phase: ustack\nsteps:\n${step('d', '    after: [a]\n')}`,
    });
    const first = await problemsOf(loadRunbook([dir]));
    expect(first.map((p) => p.message)).toEqual([
      expect.stringContaining('phases already run in order'),
    ]);
    await rm(join(dir, 'two.yaml'));
    const problems = await problemsOf(loadRunbook([dir]));
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringContaining('needs input "token" from "a" but does not run after it'),
      expect.stringContaining('needs input "nothing", which no step lists in "outputs"'),
    ]);
  });

  it('refuses a phases.yaml that is a FIFO, without waiting for a writer', async () => {
    const { 'phases.yaml': _phases, ...rest } = SCRIPTS;
    await tree(dir, { ...rest, 'one.yaml': `phase: umetal\nsteps:\n${step('a')}` });
    execFileSync('mkfifo', [join(dir, 'phases.yaml')]);
    const problems = await problemsOf(loadRunbook([dir]));
    expect(problems[0]!.file).toBe(join(dir, 'phases.yaml'));
    expect(problems[0]!.message).toMatch(/FIFO/);
  });

  it('refuses a folder that does not exist', async () => {
    const problems = await problemsOf(loadRunbook([join(dir, 'nope')]));
    expect(problems[0]!.message).toContain('cannot be read (ENOENT)');
  });
});

describe('a customer runbook over the default one', () => {
  it('replaces a step by id, adds new ones, removes listed ones, and uses default scripts', async () => {
    const base = await tree(join(dir, 'default'), {
      ...SCRIPTS,
      'umetal.yaml': `phase: umetal\nsteps:\n${step('a')}${step('b', '    after: [a]\n')}${step('c', '    after: [a]\n')}`,
    });
    const customer = await tree(join(dir, 'customer'), {
      'scripts/own.sh': 'true\n',
      'site.yaml': [
        'phase: umetal',
        'remove: [c]',
        'steps:',
        '  - id: b',
        '    title: Customer b',
        '    description: Replaced.',
        '    target: { roles: [storage] }',
        '    after: [a]',
        '    run: scripts/own.sh',
        step('d', '    after: [b]\n').trimEnd(),
        '',
      ].join('\n'),
    });
    const runbook = await loadRunbook([base, customer]);
    expect(runbook.steps.map((s) => s.id)).toEqual(['a', 'b', 'd']);
    const b = runbook.byId.get('b')!;
    expect(b.title).toBe('Customer b');
    expect(b.runFile).toBe(join(customer, 'scripts/own.sh'));
    expect(b.source.file).toBe(join(customer, 'site.yaml'));
    // d names scripts/a.sh, which only the default runbook has.
    expect(runbook.byId.get('d')!.runFile).toBe(join(base, 'scripts/a.sh'));
  });

  it('refuses to remove a step no earlier directory declares', async () => {
    const base = await tree(join(dir, 'default'), {
      ...SCRIPTS,
      'umetal.yaml': `phase: umetal\nsteps:\n${step('a')}`,
    });
    const customer = await tree(join(dir, 'customer'), { 'site.yaml': 'remove: [b]\n' });
    const [p] = await problemsOf(loadRunbook([base, customer]));
    expect(p).toMatchObject({ file: join(customer, 'site.yaml'), line: 1 });
    expect(p!.message).toContain('"remove" names step "b"');
  });

  it('reports a removed step that others still run after', async () => {
    const base = await tree(join(dir, 'default'), {
      ...SCRIPTS,
      'umetal.yaml': `phase: umetal\nsteps:\n${step('a')}${step('b', '    after: [a]\n')}`,
    });
    const customer = await tree(join(dir, 'customer'), { 'site.yaml': 'remove: [a]\n' });
    const [p] = await problemsOf(loadRunbook([base, customer]));
    expect(p!.message).toContain('step "b" runs after "a", which does not exist');
  });
});

describe('findCycles', () => {
  it('finds a self-loop and leaves an acyclic graph alone', () => {
    expect(findCycles([{ id: 'a', after: ['a'] }])).toEqual([['a']]);
    expect(
      findCycles([
        { id: 'a', after: [] },
        { id: 'b', after: ['a'] },
        { id: 'c', after: ['a', 'b'] },
      ]),
    ).toEqual([]);
  });
});

describe('the phases of a runbook (phases.yaml)', () => {
  it('names a step of an undeclared phase with file, line, a suggestion and the phases', async () => {
    await tree(dir, { ...SCRIPTS, 'one.yaml': `phase: umetl\nsteps:\n${step('a')}` });
    const [p] = await problemsOf(loadRunbook([dir]));
    expect(p).toMatchObject({ file: join(dir, 'one.yaml'), line: 1 });
    expect(p!.message).toContain('no phase "umetl" in');
    expect(p!.message).toContain('did you mean "umetal"?');
    expect(p!.message).toContain(
      'the phases are os-install, connect, umetal, ustack, ugarden, reset-ugarden',
    );
  });

  it('reports each broken declaration with its line', async () => {
    await tree(dir, {
      ...SCRIPTS,
      'phases.yaml': [
        'phases:',
        '  - id: reset-x',
        '    label: { en: X, de: X }',
        '  - id: umetal',
        '    label: { en: uMetal }',
        '    needs: [ustack]',
        '  - id: ustack',
        '    label: { en: uStack, de: uStack }',
        '    restore: true',
        '',
      ].join('\n'),
      'one.yaml': `phase: umetal\nsteps:\n${step('a')}`,
    });
    const problems = await problemsOf(loadRunbook([dir]));
    const file = join(dir, 'phases.yaml');
    expect(problems).toEqual([
      expect.objectContaining({ file, line: 2, message: expect.stringContaining('reset: true') }),
      expect.objectContaining({
        file,
        line: 5,
        message: expect.stringContaining('/phases/1/label/de'),
      }),
      expect.objectContaining({
        file,
        line: 7,
        message: expect.stringContaining('unknown field "restore"'),
      }),
    ]);
  });

  it('refuses a phase that needs a later one, and orders steps by the declared order', async () => {
    await tree(dir, {
      ...SCRIPTS,
      'phases.yaml':
        'phases:\n  - id: b\n    label: { en: B, de: B }\n  - id: a\n    label: { en: A, de: A }\n    needs: [b]\n',
      'one.yaml': `phase: a\nsteps:\n${step('a.one')}`,
      'two.yaml': `phase: b\nsteps:\n${step('b.one')}`,
    });
    const runbook = await loadRunbook([dir]);
    expect(runbook.steps.map((s) => s.id)).toEqual(['b.one', 'a.one']);
    await writeFile(
      join(dir, 'phases.yaml'),
      'phases:\n  - id: b\n    label: { en: B, de: B }\n    needs: [a]\n  - id: a\n    label: { en: A, de: A }\n',
    );
    const [p] = await problemsOf(loadRunbook([dir]));
    expect(p).toMatchObject({ file: join(dir, 'phases.yaml'), line: 4 });
    expect(p!.message).toContain('needs "a", which comes after it');
  });
});
