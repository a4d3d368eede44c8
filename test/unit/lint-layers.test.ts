/**
 * The layer order of src/ (LAYERS in eslint.config.js, docs/architecture.md "Layers") as the
 * lint applies it: small sources, linted in memory with the project's own config as if they
 * were files of a folder, fail when they import a higher layer or a peer and pass when they
 * import a lower one. Nothing is written: `lintText` takes the path only to pick the config.
 */
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: root });
});

/** The messages of the layer rule for `source` linted as `file` (relative to the root). */
async function layerErrors(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: `${root}/${file}` });
  expect(result!.fatalErrorCount).toBe(0);
  return result!.messages
    .filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports')
    .map((m) => m.message);
}

describe('the layer order of src/', () => {
  it('fails src/engine importing src/app, and names the rule and the doc', async () => {
    const errors = await layerErrors(
      'src/engine/probe.ts',
      "import type { Access } from '../app/access.js';\nexport type Probe = Access;\n",
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('src/engine may not import src/app: src/app is a higher layer');
    expect(errors[0]).toContain('docs/architecture.md');
  });

  it('passes src/engine importing lower layers (ssh, plan, util) and itself', async () => {
    const errors = await layerErrors(
      'src/engine/probe.ts',
      [
        "import type { Transport } from '../ssh/transport.js';",
        "import type { Plan } from '../plan/schema.js';",
        "import { writeAtomically } from '../util/fs.js';",
        "import { UstartError } from '../errors.js';",
        "import type { StepSpec } from './types.js';",
        'export type Probe = [Transport, Plan, StepSpec];',
        'export const probe = [writeAtomically, UstartError];',
      ].join('\n') + '\n',
    );
    expect(errors).toEqual([]);
  });

  it('fails the crossings this order removed: demo -> app, ssh -> plan, plan -> api', async () => {
    const demo = await layerErrors(
      'src/demo/probe.ts',
      "import type { Access } from '../app/access.js';\nexport type Probe = Access;\n",
    );
    const ssh = await layerErrors(
      'src/ssh/probe.ts',
      "import type { Plan } from '../plan/schema.js';\nexport type Probe = Plan;\n",
    );
    const plan = await layerErrors(
      'src/plan/probe.ts',
      "import type { Capacity } from '../api/contract.js';\nexport type Probe = Capacity;\n",
    );
    expect(demo).toEqual([expect.stringContaining('src/demo may not import src/app')]);
    expect(ssh).toEqual([
      expect.stringContaining('src/ssh may not import src/plan: they are peers'),
    ]);
    expect(plan).toEqual([expect.stringContaining('src/plan may not import src/api')]);
  });

  it('keeps render below bundle: the bundle fetches what the bill of materials names', async () => {
    const up = await layerErrors(
      'src/render/probe.ts',
      "import { fetchArtifacts } from '../bundle/fetch/index.js';\nexport const probe = fetchArtifacts;\n",
    );
    const down = await layerErrors(
      'src/bundle/probe.ts',
      [
        "import { bom } from '../render/bom.js';",
        "import { chartPath } from '../runbook/bundle-layout.js';",
        'export const probe = [bom, chartPath];',
      ].join('\n') + '\n',
    );
    expect(up).toEqual([expect.stringContaining('src/render may not import src/bundle')]);
    expect(down).toEqual([]);
  });

  it('fails peers on one level importing each other', async () => {
    const errors = await layerErrors(
      'src/logbundle/probe.ts',
      "import type { VerifyReport } from '../bundle/verify.js';\nexport type Probe = VerifyReport;\n",
    );
    expect(errors).toEqual([
      expect.stringContaining('src/logbundle may not import src/bundle: they are peers'),
    ]);
  });

  it('applies to files in subfolders, whatever their depth', async () => {
    const up = await layerErrors(
      'src/bundle/oci/probe.ts',
      "import type { Access } from '../../app/access.js';\nexport type Probe = Access;\n",
    );
    const down = await layerErrors(
      'src/cli/commands/probe.ts',
      "import { SERVER_LIMITS } from '../../server/server.js';\nexport const probe = SERVER_LIMITS;\n",
    );
    expect(up).toEqual([expect.stringContaining('src/bundle may not import src/app')]);
    expect(down).toEqual([]);
  });

  it('leaves tests free to import what feeds the layer they test', async () => {
    const errors = await layerErrors(
      'src/runbook/probe.test.ts',
      "import { stepSpecsFor } from '../render/step-specs.js';\nexport const probe = stepSpecsFor;\n",
    );
    expect(errors).toEqual([]);
  });
});
