/**
 * `ustart plan import-csv CSV --out FILE [--base PLAN] [--force]`: a new plan from the
 * customer's server list. Site, networks, Kubernetes, OpenStack and access come from the
 * base plan (the demo sample by default); racks and servers from the list.
 */
import { access, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { isUstartError, UstartError } from '../../errors.js';
import { describe, decodeCsvBytes, importCsv } from '../../plan/csv-import.js';
import { checkPlanFile, countBySeverity, Plan, savePlanFile } from '../../plan/index.js';
import { assetPath } from '../../util/assets.js';
import { EXIT } from '../exit.js';
import { type Output, paint } from '../output.js';
import { loadPlanForCommand } from './plan-file.js';
import { readRegularFile } from '../../util/user-file.js';

/** Larger lists are refused: 1,000 servers are about 200 kB of CSV. */
const MAX_CSV_BYTES = 10 * 1024 * 1024;

interface ImportFlags {
  out: string;
  base?: string;
  force?: boolean;
}

export function registerPlanImportCsv(
  plan: Command,
  out: Output,
  setCode: (c: number) => void,
): void {
  plan
    .command('import-csv')
    .description(
      "Build a site plan from the customer's server list (CSV, German or English headers; see docs/csv-import.md). Exit 1 when rows cannot be imported (each bad cell is listed; nothing is written), 2 when the file cannot be read.",
    )
    .argument('<csv>', 'the server list, one row per server')
    .requiredOption('--out <file>', 'where to write the new plan')
    .option(
      '--base <plan>',
      'take site, networks, Kubernetes, OpenStack and access from this plan (default: the demo sample)',
    )
    .option('--force', 'overwrite an existing --out file (the old one is kept as FILE.bak)')
    .action(async (csv: string, opts: ImportFlags) => {
      const taken = await access(opts.out).then(
        () => true,
        () => false,
      );
      if (!opts.force && taken) {
        throw new UstartError(
          'InvalidArgument',
          `${opts.out} already exists; nothing was written. Choose another --out, or use --force to replace it (the old file is kept as ${opts.out}.bak).`,
        );
      }
      const baseFile = opts.base ?? assetPath('samples', 'demo-stuttgart.yaml');
      const base = await loadPlanForCommand(baseFile, out, setCode);
      if (!base) return;
      const management = base.plan.networks.find((n) => n.purpose === 'management')?.name ?? 'mgmt';

      let imported;
      try {
        const { text, encoding } = decodeCsvBytes(await readCsv(csv), csv);
        imported = importCsv(text, { file: csv, managementNetwork: management });
        if (encoding !== 'utf-8') {
          imported.warnings.unshift({ message: 'not UTF-8: read as Windows-1252 (older Excel)' });
        }
      } catch (e) {
        if (isUstartError(e, 'CsvInvalid') && e.detail.kind === 'rows') {
          out.stderr(`ustart: ${e.message}\n`);
          setCode(EXIT.invalid);
          return;
        }
        throw e;
      }

      const baseRacks = new Map(base.plan.racks.map((r) => [r.name, r]));
      const { acknowledgements: _dropped, ...rest } = base.plan;
      const plan = Plan.parse({
        ...rest,
        racks: imported.racks.map((r) => baseRacks.get(r.name) ?? r),
        servers: imported.servers,
      });
      await savePlanFile(opts.out, plan);

      for (const w of imported.warnings)
        out.stderr(`${paint(out, 'yellow', 'note')} ${describe(w)}\n`);
      const checked = await checkPlanFile(opts.out);
      const counts = countBySeverity(checked.findings);
      out.stdout(
        `wrote ${opts.out}: ${plan.servers.length} servers in ${plan.racks.length} racks from ${csv}; site, networks, Kubernetes, OpenStack and access from ${opts.base ?? 'the demo sample'}.\n` +
          `validation: ${counts.error} errors, ${counts.warning} warnings. Next: ustart plan ipam ${opts.out} --write, then ustart validate ${opts.out}\n`,
      );
      setCode(EXIT.ok);
    });
}

async function readCsv(file: string): Promise<Buffer> {
  try {
    const info = await stat(file);
    if (info.isDirectory())
      throw new UstartError('CsvInvalid', `${file} is a directory, not a CSV file.`);
    if (info.size > MAX_CSV_BYTES) {
      throw new UstartError(
        'CsvInvalid',
        `${file} is ${(info.size / 1024 / 1024).toFixed(1)} MB; a server list may be at most 10 MB. Is this the right file?`,
      );
    }
    return await readRegularFile(file, { what: 'CSV file', code: 'CsvInvalid' });
  } catch (e) {
    if (e instanceof UstartError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(e)})`;
    throw new UstartError('CsvInvalid', `${file} ${why}.`, { cause: e, detail: { file } });
  }
}
