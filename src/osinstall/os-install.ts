/**
 * `umetal.os-install`: installs Debian 12 on the plan's servers through their BMCs. For each
 * server, in batches: render its preseed, build its ISO, serve it from this machine, insert it
 * as the BMC's virtual CD, set a one-time boot from CD, power the server on (or cycle it), wait
 * for the installer to report the SSH host key, offer it for acceptance with its fingerprint,
 * and wait until SSH answers with exactly that key.
 *
 * The same code is the runbook's first phase (os-install-step.ts): `decideServer` and
 * `installServer` for one server, with one SharedInstallServer for the installs at once.
 *
 * Safety: only a server whose SSH port refuses the connection counts as having no OS. One that
 * answers on SSH is skipped (before its BMC and disks are looked at), and one whose probe says nothing certain (a timeout, a reset, no
 * SSH identification line) is refused, unless the consultant typed its name
 * (`confirmReinstall`); so is one that ~/.ssh/config reaches another way (ProxyJump, HostName,
 * Port) than the probe would. Each server is probed again just before its ISO is inserted. A
 * dry run probes SSH (read-only) and says what would be
 * done to which BMC; it opens no BMC, builds and serves nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bmc } from '../bmc/types.js';
import { UstartError, messageOf } from '../errors.js';
import type { Plan, Server } from '../plan/index.js';
import { targetFromPlan } from '../engine/plan-targets.js';
import { fingerprint } from '../ssh/known-hosts.js';
import { SshConfig } from '../ssh/targets.js';
import { renderPreseed, osDisks, managementNet, type RenderedPreseed } from './preseed.js';
import type { InstallServer, ReportedHostKey } from './serve.js';
import { SharedInstallServer } from './shared-server.js';
import type { SshProbe } from './ssh-probe.js';

export { SharedInstallServer } from './shared-server.js';

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
  /** Does an SSH server answer at address:port (identification line only, no login)? */
  sshProbe(address: string, port: number): Promise<SshProbe>;
  /** The host key (base64 blob) of `type` presented at address:port, undefined if none. */
  sshHostKey(address: string, port: number, type: string): Promise<string | undefined>;
  /** Offers the reported key for acceptance; true = accepted. It records nothing. */
  acceptHostKey(host: string, key: ReportedHostKey, fingerprint: string): Promise<boolean>;
  /**
   * Records the accepted key as known for address:port; called only once SSH there has
   * presented exactly that key.
   */
  recordHostKey(address: string, port: number, key: ReportedHostKey): Promise<void>;
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
  /**
   * The consultant's ~/.ssh/config, as the engine reads it (src/ssh/ssh-config.ts): a server
   * it reaches through a jump host or at another address or port than the probe is refused.
   * Empty when absent.
   */
  sshConfig?: SshConfig;
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

/**
 * What holds for the whole plan before any server is probed: every name given is a server of
 * the plan (and a confirmed one is among those of this run), and no jump host. Throws.
 */
export function checkOsInstallPlan(
  plan: Plan,
  opts: Pick<OsInstallOptions, 'servers' | 'confirmReinstall'>,
): void {
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
  for (const c of opts.confirmReinstall ?? []) {
    if (opts.servers && !opts.servers.includes(c)) {
      throw new UstartError(
        'InvalidArgument',
        `--confirm-reinstall ${c}: ${c} is not among the servers of this run`,
      );
    }
  }
}

/** Decides per server, probing SSH only. Throws on names that match no server. */
export async function decideOsInstall(
  plan: Plan,
  opts: Pick<OsInstallOptions, 'servers' | 'confirmReinstall' | 'sshConfig'>,
  deps: Pick<OsInstallDeps, 'sshProbe'>,
): Promise<OsInstallDecision[]> {
  checkOsInstallPlan(plan, opts);
  const selected = plan.servers.filter((s) => !opts.servers || opts.servers.includes(s.hostname));
  return Promise.all(selected.map((s) => decideServer(plan, s, opts, deps)));
}

/**
 * The decision for one server (checkOsInstallPlan first): refuse what the plan cannot install
 * or what SSH cannot tell for certain, skip what answers on SSH, install what refuses.
 */
export async function decideServer(
  plan: Plan,
  s: Server,
  opts: Pick<OsInstallOptions, 'confirmReinstall' | 'sshConfig'>,
  deps: Pick<OsInstallDeps, 'sshProbe'>,
): Promise<OsInstallDecision> {
  const confirmed = new Set(opts.confirmReinstall ?? []);
  const ssh = sshEndpoint(plan, s);
  const base = { host: s.hostname, ssh, ...(s.bmc ? { bmc: { ...s.bmc } } : {}) };
  // First how SSH reaches it: a probe the other way than ~/.ssh/config could not tell.
  const route = otherRoute(plan, s, ssh, opts.sshConfig ?? SshConfig.empty());
  if (route) {
    return {
      ...base,
      action: 'refuse',
      reason: `${route}: os-install probes SSH directly at ${ssh.address}:${ssh.port} and could not tell an installed server from a new one, so it refuses; run it from a machine that reaches ${ssh.address}:${ssh.port} directly, without that ~/.ssh/config entry`,
    };
  }
  // Then the probe: a server that answers is skipped whatever the plan says of its BMC and
  // disks (nothing is done to it), so a server installed by hand needs no `bmc` in the plan.
  const probe = await deps.sshProbe(ssh.address, ssh.port);
  if (probe === 'answers' && !confirmed.has(s.hostname)) {
    return {
      ...base,
      action: 'skip',
      reason: `SSH answers at ${ssh.address}:${ssh.port}: an OS is installed; reinstalling needs --confirm-reinstall ${s.hostname}`,
    };
  }
  if (probe === 'unknown' && !confirmed.has(s.hostname)) {
    return {
      ...base,
      action: 'refuse',
      reason: `SSH at ${ssh.address}:${ssh.port} neither answered nor refused the connection (a timeout, a reset or no SSH identification line: filtered, slow or rate-limited SSH looks like this), so an OS may be installed; check the server, then --confirm-reinstall ${s.hostname} overrides`,
    };
  }
  let disks: string;
  try {
    const d = osDisks(s);
    managementNet(plan, s);
    disks = d.mode === 'single' ? d.disk : `RAID1 of ${d.disks.join(' + ')}`;
  } catch (e) {
    return { ...base, action: 'refuse', reason: messageOf(e) };
  }
  if (!s.bmc) return { ...base, action: 'refuse', reason: 'no bmc in the plan (servers[].bmc)' };
  if (s.bmc.protocol !== 'redfish') {
    return {
      ...base,
      action: 'refuse',
      reason:
        'its BMC speaks IPMI, which has no virtual media: the ISO can only be inserted over Redfish',
    };
  }
  if (probe !== 'refused') {
    return {
      ...base,
      action: 'reinstall',
      reason: `${probe === 'answers' ? 'SSH answers' : 'SSH did not answer for certain'}, reinstall confirmed by name: ALL DATA on ${disks} is erased`,
      disks,
    };
  }
  return {
    ...base,
    action: 'install',
    reason: `SSH at ${ssh.address}:${ssh.port} refuses the connection`,
    disks,
  };
}

/**
 * How ~/.ssh/config reaches the server when that is not the probed endpoint directly (a
 * ProxyJump, another HostName or Port), in words; undefined when it is the same.
 */
function otherRoute(
  plan: Plan,
  server: Server,
  ssh: { address: string; port: number },
  config: SshConfig,
): string | undefined {
  let t;
  try {
    t = targetFromPlan(plan, server, config);
  } catch (e) {
    return messageOf(e);
  }
  if (t.jump)
    return `~/.ssh/config reaches ${server.hostname} through the jump host ${t.jump.name}`;
  if (t.address !== ssh.address || t.port !== ssh.port)
    return `~/.ssh/config reaches ${server.hostname} at ${t.address}:${t.port}, not ${ssh.address}:${ssh.port}`;
  return undefined;
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
  const http = new SharedInstallServer(opts);
  try {
    const batch = Math.max(1, opts.batchSize ?? 4);
    for (let i = 0; i < todo.length; i += batch) {
      const chunk = todo.slice(i, i + batch);
      await Promise.all(
        chunk.map(async (d) => {
          try {
            await installServer(plan, d, opts, deps, http, emit);
            result.installed.push(d.host);
          } catch (e) {
            result.failed.push({ host: d.host, error: messageOf(e) });
            emit({ host: d.host, stage: 'failed', message: messageOf(e) });
          }
        }),
      );
      if (opts.signal?.aborted) break;
    }
  } finally {
    await http.close();
  }
  if (opts.signal?.aborted) {
    throw new UstartError(
      'Cancelled',
      `os-install cancelled; installed: ${result.installed.join(', ') || 'none'}; stopped: ${result.failed.map((f) => f.host).join(', ') || 'none'}; servers of later batches were not touched`,
    );
  }
  return result;
}

/**
 * Installs one server of an install or reinstall decision, through `http` (shared by the
 * run's installs), emitting each stage; throws what stopped it. `opts.signal` cancels it.
 */
export async function installServer(
  plan: Plan,
  d: OsInstallDecision,
  opts: OsInstallOptions,
  deps: OsInstallDeps,
  http: SharedInstallServer,
  emit: (e: OsInstallEvent) => void,
): Promise<void> {
  await mkdir(opts.workDir, { recursive: true });
  const server = await http.acquire();
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
  } finally {
    await http.release();
  }
  emit({
    host: d.host,
    stage: 'done',
    message: `Debian 12 installed; SSH answers with the accepted host key`,
  });
}

function cancelled(host: string): UstartError {
  return new UstartError(
    'Cancelled',
    `${host}: cancelled; the virtual CD is ejected, the server may be in the installer (see its console)`,
  );
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
  let inserted = false;
  try {
    // The decision may be hours old (a later batch): a server brought up since then must
    // not be wiped. Probed again here, before anything on the BMC is touched.
    signal.throwIfAborted();
    if (d.action !== 'reinstall' && !opts.confirmReinstall?.includes(host)) {
      const now = await deps.sshProbe(d.ssh.address, d.ssh.port);
      if (now !== 'refused') {
        throw new UstartError(
          'Unsupported',
          `${host}: SSH at ${d.ssh.address}:${d.ssh.port} ${now === 'answers' ? 'answers now' : 'no longer refuses the connection (no certain answer)'}, though it refused when the run began: an OS may have been installed since. Nothing was done to it; check the server, then --confirm-reinstall ${host} reinstalls it`,
        );
      }
    }
    emit({
      host,
      stage: 'media',
      message: `inserting the ISO as virtual CD on BMC ${bmc.address}`,
    });
    inserted = true;
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
      if (opts.signal?.aborted) throw cancelled(host);
      throw new UstartError(
        'CommandTimeout',
        `${host}: no host key report from the installer (${messageOf(e)}); see the server's console (BMC serial-over-LAN) for where the installer stopped`,
      );
    }
    const key = keys.find((k) => k.type === 'ssh-ed25519')!;
    const fp = fingerprint(Buffer.from(key.key, 'base64'));
    emit({ host, stage: 'host-key', message: `installer reported ${key.type} ${fp}` });
    if (!(await deps.acceptHostKey(host, key, fp))) {
      if (opts.signal?.aborted) throw cancelled(host);
      throw new UstartError(
        'HostKeyUnknown',
        `${host}: the reported host key ${fp} was not accepted, so uStart stops following this server (its installer goes on). Compare the fingerprint with the server's console; once it answers, Connect offers the key for acceptance.`,
      );
    }
    emit({
      host,
      stage: 'ssh',
      message: `waiting for SSH at ${d.ssh.address}:${d.ssh.port} with ${fp}`,
    });
    for (;;) {
      const seen = await deps.sshHostKey(d.ssh.address, d.ssh.port, key.type);
      if (seen === key.key) {
        // Recorded only now that SSH there has shown exactly the accepted key.
        await deps.recordHostKey(d.ssh.address, d.ssh.port, key);
        break;
      }
      if (seen !== undefined) {
        throw new UstartError(
          'HostKeyMismatch',
          `${host}: SSH at ${d.ssh.address}:${d.ssh.port} presents ${fingerprint(Buffer.from(seen, 'base64'))}, not the key the installer reported (${fp}); is another machine on that address?`,
        );
      }
      try {
        await abortableDelay(opts.sshPollMs ?? 10_000, signal);
      } catch (e) {
        if (opts.signal?.aborted) throw cancelled(host);
        throw new UstartError(
          'CommandTimeout',
          `${host}: SSH at ${d.ssh.address}:${d.ssh.port} did not come up with ${fp} in time (${messageOf(e)})`,
        );
      }
    }
  } finally {
    if (inserted) await bmc.ejectMedia().catch(() => undefined);
    await bmc.close().catch(() => undefined);
  }
}
