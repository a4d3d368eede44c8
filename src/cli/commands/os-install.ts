/**
 * `ustart os-install PLAN`: installs Debian 12 on the plan's servers through their BMCs
 * (src/osinstall/os-install.ts). `--dry-run` shows what would be done to which BMC and opens
 * none. A server that already answers on SSH is skipped unless `--confirm-reinstall HOST`
 * names it; one whose SSH neither answers nor refuses is refused unless named so. Each
 * installer's reported host key is shown with its fingerprint; once the consultant accepts it
 * and SSH presents exactly that key, it is recorded in uStart's known_hosts. Prompts of
 * servers installed at once are asked one after the other on one readline interface. Ctrl-C
 * cancels: the virtual CDs are ejected and the BMC sessions closed.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline/promises';
import type { Readable, Writable } from 'node:stream';
import type { Command } from 'commander';
import { openStateDir } from '../../app/state-dir.js';
import { UstartError } from '../../errors.js';
import { authorizedKeyLines, type BmcOpener, osInstallDeps } from '../../osinstall/deps.js';
import { runOsInstall } from '../../osinstall/os-install.js';
import { checkPlanFile } from '../../plan/index.js';
import { KnownHosts } from '../../ssh/known-hosts.js';
import { SshConfig } from '../../ssh/targets.js';
import { readRegularFile } from '../../util/user-file.js';
import { EXIT } from '../exit.js';
import { type Output, paint } from '../output.js';
import { wholeNumber } from '../options.js';
import { bmcOpener, type BmcOpts, withBmcOptions } from './bmc-options.js';
import { formatFindings } from './validate.js';

/** Opens a server's BMC; the BMC client (src/bmc) provides it. */

interface Opts extends BmcOpts {
  mirror: string;
  authorizedKey: string[];
  advertise: string;
  port?: string;
  servers?: string;
  confirmReinstall?: string[];
  dryRun?: boolean;
  batch?: string;
  workDir?: string;
  acceptHostKeys?: boolean;
}

/**
 * Asks questions one at a time on one readline interface: the installs of a batch run at once,
 * and each answer must go to the question it was typed for.
 */
export class PromptQueue {
  private rl?: Interface;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly closing = new AbortController();
  constructor(
    private readonly input: Readable = process.stdin,
    private readonly output: Writable = process.stdout,
  ) {}

  /** The answer; rejects once the queue is closed (Ctrl-C), also for a question being asked. */
  ask(question: string): Promise<string> {
    const next = this.tail.then(() => {
      this.closing.signal.throwIfAborted();
      this.rl ??= createInterface({ input: this.input, output: this.output });
      return this.rl.question(question, { signal: this.closing.signal });
    });
    this.tail = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.closing.abort(new UstartError('Cancelled', 'cancelled'));
    this.rl?.close();
    this.rl = undefined;
  }
}

/** The keys of OpenSSH public key files (.pub), one per line; a private key is refused. */
export async function readAuthorizedKeys(files: readonly string[]): Promise<string[]> {
  const keys: string[] = [];
  for (const f of files) {
    const text = await readRegularFile(resolve(f), {
      what: 'public key file',
      code: 'InvalidArgument',
      encoding: 'utf8',
    });
    keys.push(...authorizedKeyLines(text, f));
  }
  if (keys.length === 0) {
    throw new UstartError(
      'InvalidArgument',
      `--authorized-key ${files.join(' ')} holds no public key; give the consultant's .pub file`,
    );
  }
  return keys;
}

/** uStart's own known_hosts (its state folder), with ~/.ssh/known_hosts read only. */
export async function ustartKnownHosts(out: Output): Promise<KnownHosts> {
  const stateDir = await openStateDir({ warn: (m) => out.stderr(`${m}\n`) });
  return new KnownHosts(join(stateDir, 'known_hosts'), [join(homedir(), '.ssh', 'known_hosts')]);
}

export function registerOsInstall(
  program: Command,
  out: Output,
  setCode: (c: number) => void,
  /** Tests give their own BMCs; by default the BMC options open the real ones (src/bmc). */
  openBmc?: BmcOpener,
): void {
  const command = program
    .command('os-install')
    .description(
      "Install Debian 12 on the plan's servers through their BMCs (Redfish virtual media); the runbook's umetal.os-install. Servers that answer on SSH are skipped.",
    )
    .argument('<plan>', 'the site plan (YAML)')
    .requiredOption(
      '--mirror <url>',
      'Debian mirror with bookworm and the installer udebs: http://HOST[:PORT]/PATH',
    )
    .requiredOption(
      '--authorized-key <file...>',
      'OpenSSH public key file(s) (.pub) for the SSH user',
    )
    .requiredOption(
      '--advertise <address>',
      "this machine's address as the BMCs and servers reach it",
    )
    .option('--port <n>', 'HTTP port for the ISOs and reports (default: any free port)')
    .option('--servers <a,b>', 'only these servers')
    .option(
      '--confirm-reinstall <host...>',
      'reinstall these servers even though they answer on SSH (erases their OS disks)',
    )
    .option('--dry-run', 'show what would be done to which BMC; open none, build nothing')
    .option('--batch <n>', 'servers installed at once', '4')
    .option(
      '--work-dir <dir>',
      'where the ISOs are built',
      join(process.cwd(), 'ustart-os-install'),
    )
    .option(
      '--accept-host-keys',
      'accept every host key the installers report (they are still printed)',
    );
  withBmcOptions(command).action(async (planFile: string, opts: Opts) => {
    const batchSize = wholeNumber('--batch', opts.batch ?? '4', 1);
    const port = opts.port === undefined ? undefined : wholeNumber('--port', opts.port, 1, 65535);
    const checked = await checkPlanFile(planFile);
    if (!checked.valid || !checked.plan) {
      out.stderr(formatFindings(out, planFile, checked.findings));
      setCode(EXIT.invalid);
      return;
    }
    const keys = await readAuthorizedKeys(opts.authorizedKey);
    const known = opts.dryRun ? undefined : await ustartKnownHosts(out);
    const plan = checked.plan;
    const sshConfig = await SshConfig.load();
    const prompts = new PromptQueue();
    const controller = new AbortController();
    const onSigint = () => {
      if (controller.signal.aborted) {
        out.stderr('\nustart: stopped without ejecting the virtual CDs.\n');
        process.exit(130);
      }
      out.stderr(
        '\nustart: cancelling: ejecting the virtual CDs, closing the BMC sessions (Ctrl-C again to quit at once)…\n',
      );
      prompts.close();
      controller.abort(new UstartError('Cancelled', 'cancelled (Ctrl-C)'));
    };
    process.on('SIGINT', onSigint);
    const result = await runOsInstall(
      plan,
      {
        mirrorUrl: opts.mirror,
        authorizedKeys: keys,
        advertise: opts.advertise,
        workDir: resolve(opts.workDir ?? 'ustart-os-install'),
        batchSize,
        dryRun: opts.dryRun ?? false,
        sshConfig,
        signal: controller.signal,
        ...(port !== undefined ? { port } : {}),
        ...(opts.servers ? { servers: opts.servers.split(',').map((s) => s.trim()) } : {}),
        ...(opts.confirmReinstall ? { confirmReinstall: opts.confirmReinstall } : {}),
        onEvent: (e) => out.stdout(`${paint(out, 'bold', e.host)} ${e.stage}: ${e.message}\n`),
      },
      osInstallDeps({
        // A dry run opens no BMC, so it asks for no BMC login either.
        openBmc:
          openBmc ??
          (opts.dryRun
            ? () => Promise.reject(new UstartError('Unsupported', 'a dry run opens no BMC'))
            : await bmcOpener(opts, out)),
        acceptHostKey: async (host, key, fp) => {
          out.stdout(`${host}: the installer reports the SSH host key ${key.type} ${fp}\n`);
          if (opts.acceptHostKeys) return true;
          const answer = await prompts.ask(`accept ${fp} for ${host}? [y/N] `).catch(() => '');
          return /^y(es)?$/i.test(answer.trim());
        },
        known,
      }),
    ).finally(() => {
      process.off('SIGINT', onSigint);
      prompts.close();
    });
    if (opts.dryRun) {
      out.stdout(
        `dry run: nothing was changed, no BMC was contacted\n${result.wouldDo.join('\n')}\n`,
      );
    } else {
      out.stdout(
        `installed: ${result.installed.join(', ') || 'none'}; failed: ${result.failed.map((f) => f.host).join(', ') || 'none'}\n`,
      );
    }
    setCode(result.failed.length > 0 ? EXIT.invalid : EXIT.ok);
  });
}
