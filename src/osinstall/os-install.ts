/**
 * `umetal.os-install`: installs Debian 12 on the plan's servers through their BMCs. For each
 * server, in batches: render its preseed, build its ISO, serve it from this machine, insert it
 * as the BMC's virtual CD, set a one-time boot from CD, power the server on (or cycle it), wait
 * for the installer to report the SSH host key, offer it for acceptance with its fingerprint,
 * and wait until SSH answers with exactly that key.
 *
 * Safety: a server that already answers on SSH has an OS; it is skipped unless the consultant
 * typed its name (`confirmReinstall`). A dry run probes SSH (read-only) and says what would be
 * done to which BMC; it opens no BMC, builds and serves nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bmc } from '../bmc/types.js';
import { UstartError, messageOf } from '../errors.js';
import type { Plan, Server } from '../plan/index.js';
import { fingerprint } from '../ssh/known-hosts.js';
import { renderPreseed, osDisks, managementNet, type RenderedPreseed } from './preseed.js';
import { InstallServer, type ReportedHostKey } from './serve.js';

export type OsInstallAction = 'install' | 'reinstall' | 'skip' | 'refuse';

export interface OsInstallDecision {
  host: string;
  action: OsInstallAction;
  /** Why, in plain words. */
  reason: string;
  bmc?: { address: string; protocol: 'ipmi' | 'redfish' };
  ssh: { address: string; port: number };
  /** What the OS disks become (install/reinstall). */
  disks?: string;
}

export type OsInstallStage =
  'iso' | 'media' | 'power' | 'installing' | 'host-key' | 'ssh' | 'done' | 'skipped' | 'failed';

export interface OsInstallEvent {
  host: string;
  stage: OsInstallStage;
  message: string;
}

export interface OsInstallDeps {
  /** Opens the server's BMC (credentials from the keychain); never called in a dry run. */
  openBmc(server: Server): Promise<Bmc>;
  /** Does an SSH server answer at address:port (banner only, no login)? */
  sshAnswers(address: string, port: number): Promise<boolean>;
  /** The host key (base64 blob) of `type` presented at address:port, undefined if none. */
  sshHostKey(address: string, port: number, type: string): Promise<string | undefined>;
  /** Offers the reported key for acceptance; true = accepted (and recorded as known). */
  acceptHostKey(host: string, key: ReportedHostKey, fingerprint: string): Promise<boolean>;
  buildIso(r: RenderedPreseed, out: string): Promise<number>;
}

export interface OsInstallOptions {
  /** Host names to consider; all servers of the plan when absent. */
  servers?: readonly string[];
  /** Host names the consultant typed to allow reinstalling a server that answers on SSH. */
  confirmReinstall?: readonly string[];
  dryRun?: boolean;
  /** Servers installed at once (default 4). */
  batchSize?: number;
  mirrorUrl: string;
  authorizedKeys: readonly string[];
  /** Folder the ISOs are built in. */
  workDir: string;
  /** This machine's address as the BMCs and servers reach it. */
  advertise: string;
  port?: number;
  /** How long one server may take from power-on to SSH (default 2 h). */
  installTimeoutMs?: number;
  /** Pause between SSH polls while waiting for the installed system (default 10 s). */
  sshPollMs?: number;
  onEvent?: (e: OsInstallEvent) => void;
  signal?: AbortSignal;
}

export interface OsInstallResult {
  decisions: OsInstallDecision[];
  /** Dry run: what would be done, one line per action. */
  wouldDo: string[];
  installed: string[];
  failed: { host: string; error: string }[];
}

function sshEndpoint(plan: Plan, server: Server): { address: string; port: number } {
  const mgmt = plan.networks.find((n) => n.purpose === 'management');
  const address = server.ssh?.address ?? (mgmt ? server.addresses[mgmt.name] : undefined);
  if (!address) {
    throw new UstartError(
      'InvalidArgument',
      `server ${server.hostname}: no SSH address (ssh.address or a management address)`,
    );
  }
  return { address, port: server.ssh?.port ?? 22 };
}

/** Decides per server, probing SSH only. Throws on names that match no server. */
export async function decideOsInstall(
  plan: Plan,
  opts: Pick<OsInstallOptions, 'servers' | 'confirmReinstall'>,
  deps: Pick<OsInstallDeps, 'sshAnswers'>,
): Promise<OsInstallDecision[]> {
  const names = new Set(plan.servers.map((s) => s.hostname));
  for (const n of [...(opts.servers ?? []), ...(opts.confirmReinstall ?? [])]) {
    if (!names.has(n)) {
      throw new UstartError(
        'InvalidArgument',
        `${n} is no server of the plan; check the spelling (servers: ${[...names].join(', ')})`,
      );
    }
  }
  if (plan.access.jumpHost) {
    throw new UstartError(
      'Unsupported',
      'the plan reaches the servers through a jump host: os-install probes SSH directly from this machine and could not tell an installed server from a new one, so it refuses; run it from a machine on the management network without access.jumpHost',
    );
  }
  const selected = plan.servers.filter((s) => !opts.servers || opts.servers.includes(s.hostname));
  const confirmed = new Set(opts.confirmReinstall ?? []);
  for (const c of confirmed) {
    if (!selected.some((s) => s.hostname === c)) {
      throw new UstartError(
        'InvalidArgument',
        `--confirm-reinstall ${c}: ${c} is not among the servers of this run`,
      );
    }
  }
  return Promise.all(
    selected.map(async (s): Promise<OsInstallDecision> => {
      const ssh = sshEndpoint(plan, s);
      const base = { host: s.hostname, ssh, ...(s.bmc ? { bmc: { ...s.bmc } } : {}) };
      let disks: string;
      try {
        const d = osDisks(s);
        managementNet(plan, s);
        disks = d.mode === 'single' ? d.disk : `RAID1 of ${d.disks.join(' + ')}`;
      } catch (e) {
        return { ...base, action: 'refuse', reason: messageOf(e) };
      }
      if (!s.bmc)
        return { ...base, action: 'refuse', reason: 'no bmc in the plan (servers[].bmc)' };
      if (s.bmc.protocol !== 'redfish') {
        return {
          ...base,
          action: 'refuse',
          reason:
            'its BMC speaks IPMI, which has no virtual media: the ISO can only be inserted over Redfish',
        };
      }
      const answers = await deps.sshAnswers(ssh.address, ssh.port);
      if (answers && !confirmed.has(s.hostname)) {
        return {
          ...base,
          action: 'skip',
          reason: `SSH answers at ${ssh.address}:${ssh.port}: an OS is installed; reinstalling needs --confirm-reinstall ${s.hostname}`,
        };
      }
      if (answers) {
        return {
          ...base,
          action: 'reinstall',
          reason: `SSH answers, reinstall confirmed by name: ALL DATA on ${disks} is erased`,
          disks,
        };
      }
      return {
        ...base,
        action: 'install',
        reason: `SSH does not answer at ${ssh.address}:${ssh.port}`,
        disks,
      };
    }),
  );
}

/** What a dry run prints for one decision. */
export function describeDecision(d: OsInstallDecision, isoUrl: string): string[] {
  if (d.action === 'skip' || d.action === 'refuse') return [`${d.host}: ${d.action} — ${d.reason}`];
  const b = d.bmc!;
  return [
    `${d.host}: ${d.action} Debian 12 on ${d.disks} (${d.reason})`,
    `  BMC ${b.address} (${b.protocol}): insert virtual CD ${isoUrl}`,
    `  BMC ${b.address}: one-time boot from Cd, then power on (or power cycle when on)`,
    `  wait for the installer's host key report, then SSH at ${d.ssh.address}:${d.ssh.port} with that key; eject the CD`,
  ];
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export async function runOsInstall(
  plan: Plan,
  opts: OsInstallOptions,
  deps: OsInstallDeps,
): Promise<OsInstallResult> {
  const decisions = await decideOsInstall(plan, opts, deps);
  const emit = (e: OsInstallEvent) => opts.onEvent?.(e);
  const result: OsInstallResult = { decisions, wouldDo: [], installed: [], failed: [] };
  if (opts.dryRun) {
    const port = opts.port ?? 'PORT';
    for (const d of decisions) {
      result.wouldDo.push(
        ...describeDecision(d, `http://${opts.advertise}:${port}/<run token>/iso/${d.host}.iso`),
      );
    }
    return result;
  }
  for (const d of decisions) {
    if (d.action === 'skip' || d.action === 'refuse')
      emit({ host: d.host, stage: 'skipped', message: d.reason });
  }
  const todo = decisions.filter((d) => d.action === 'install' || d.action === 'reinstall');
  if (todo.length === 0) return result;
  await mkdir(opts.workDir, { recursive: true });
  const server = new InstallServer({
    advertise: opts.advertise,
    ...(opts.port ? { port: opts.port } : {}),
  });
  await server.start();
  try {
    const batch = Math.max(1, opts.batchSize ?? 4);
    for (let i = 0; i < todo.length; i += batch) {
      const chunk = todo.slice(i, i + batch);
      await Promise.all(
        chunk.map(async (d) => {
          try {
            await installOne(
              plan,
              plan.servers.find((s) => s.hostname === d.host)!,
              d,
              opts,
              deps,
              server,
              emit,
            );
            result.installed.push(d.host);
            emit({
              host: d.host,
              stage: 'done',
              message: `Debian 12 installed; SSH answers with the accepted host key`,
            });
          } catch (e) {
            result.failed.push({ host: d.host, error: messageOf(e) });
            emit({ host: d.host, stage: 'failed', message: messageOf(e) });
          }
        }),
      );
      opts.signal?.throwIfAborted();
    }
  } finally {
    await server.close();
  }
  return result;
}

async function installOne(
  plan: Plan,
  server: Server,
  d: OsInstallDecision,
  opts: OsInstallOptions,
  deps: OsInstallDeps,
  http: InstallServer,
  emit: (e: OsInstallEvent) => void,
): Promise<void> {
  const host = server.hostname;
  const timeout = AbortSignal.timeout(opts.installTimeoutMs ?? 2 * 3600_000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  emit({ host, stage: 'iso', message: 'building the installer ISO' });
  const rendered = renderPreseed(plan, server, {
    mirrorUrl: opts.mirrorUrl,
    authorizedKeys: opts.authorizedKeys,
    reportUrl: http.baseUrl,
    reportToken: http.reportTokenFor(host),
    marker: randomBytes(12).toString('hex'),
  });
  const iso = join(opts.workDir, `${host}.iso`);
  await deps.buildIso(rendered, iso);
  const url = http.addIso(`${host}.iso`, iso);
  const bmc = await deps.openBmc(server);
  try {
    emit({
      host,
      stage: 'media',
      message: `inserting the ISO as virtual CD on BMC ${bmc.address}`,
    });
    await bmc.insertMedia(url);
    await bmc.setOneTimeBoot('Cd');
    const state = await bmc.powerState();
    emit({ host, stage: 'power', message: state === 'On' ? 'power cycle' : 'power on' });
    await bmc.power(state === 'On' ? 'PowerCycle' : 'On');
    emit({
      host,
      stage: 'installing',
      message: 'the installer runs; waiting for its host key report',
    });
    let keys: ReportedHostKey[];
    try {
      keys = await http.waitForHostKey(host, signal, 'ssh-ed25519');
    } catch (e) {
      throw new UstartError(
        'CommandTimeout',
        `${host}: no host key report from the installer (${messageOf(e)}); see the server's console (BMC serial-over-LAN) for where the installer stopped`,
      );
    }
    const key = keys.find((k) => k.type === 'ssh-ed25519')!;
    const fp = fingerprint(Buffer.from(key.key, 'base64'));
    emit({ host, stage: 'host-key', message: `installer reported ${key.type} ${fp}` });
    if (!(await deps.acceptHostKey(host, key, fp))) {
      throw new UstartError(
        'HostKeyUnknown',
        `${host}: the reported host key ${fp} was not accepted`,
      );
    }
    emit({
      host,
      stage: 'ssh',
      message: `waiting for SSH at ${d.ssh.address}:${d.ssh.port} with ${fp}`,
    });
    for (;;) {
      const seen = await deps.sshHostKey(d.ssh.address, d.ssh.port, key.type);
      if (seen === key.key) break;
      if (seen !== undefined) {
        throw new UstartError(
          'HostKeyMismatch',
          `${host}: SSH at ${d.ssh.address}:${d.ssh.port} presents ${fingerprint(Buffer.from(seen, 'base64'))}, not the key the installer reported (${fp}); is another machine on that address?`,
        );
      }
      await abortableDelay(opts.sshPollMs ?? 10_000, signal);
    }
  } finally {
    await bmc.ejectMedia().catch(() => undefined);
    await bmc.close().catch(() => undefined);
  }
}
