import { copyFile, access } from 'node:fs/promises';
import type { Command } from 'commander';
import { UstartError } from '../../errors.js';
import { assetPath } from '../../util/assets.js';
import { EXIT } from '../exit.js';
import type { Output } from '../output.js';

/** Samples `ustart plan new --sample` can start from. */
export const SAMPLES: Record<string, string> = { demo: 'demo-stuttgart.yaml' };

export function registerPlanNew(plan: Command, out: Output, setCode: (c: number) => void): void {
  plan
    .command('new')
    .description('Start a new site plan from a sample.')
    .requiredOption('--sample <name>', `sample to start from (${Object.keys(SAMPLES).join(', ')})`)
    .requiredOption('--out <file>', 'where to write the plan')
    .option('--force', 'overwrite an existing file (the old one is kept as FILE.bak)')
    .action(async (opts: { sample: string; out: string; force?: boolean }) => {
      const sample = SAMPLES[opts.sample];
      if (!sample) {
        throw new UstartError(
          'InvalidArgument',
          `unknown sample "${opts.sample}"; choose one of: ${Object.keys(SAMPLES).join(', ')}.`,
        );
      }
      if (!opts.force && (await exists(opts.out))) {
        throw new UstartError(
          'InvalidArgument',
          `${opts.out} already exists; nothing was written. Use --force to replace it.`,
        );
      }
      if (await exists(opts.out)) await copyFile(opts.out, `${opts.out}.bak`);
      await copyFile(assetPath('samples', sample), opts.out);
      out.stdout(
        `wrote ${opts.out} from the "${opts.sample}" sample; check it with: ustart validate ${opts.out}\n`,
      );
      setCode(EXIT.ok);
    });
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}
