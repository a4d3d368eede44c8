/**
 * The whole uMetal phase of the default runbook, rendered from the lab's plan and run by the
 * real engine over SSH on 6 lab hosts (3 controllers, 2 compute, 1 storage), from a real
 * signed offline bundle placed on each host and checked there against its manifest
 * (test/support/umetal-lab.ts):
 *
 * - for real: apt from the bundle only (the package-source step), hostname and /etc/hosts,
 *   chrony installed from the bundle and pointed at the plan's NTP server, kernel modules
 *   (built into this machine's kernel: checked, not loaded) and sysctls (all `net.*`, in
 *   each host's own network namespace), swap off in /etc/fstab, containerd and runc from the
 *   bundle with the rendered configuration (systemd cgroups), the pause image imported from
 *   the bundle and tagged under the site-local registry name;
 * - test doubles (test/doubles): `systemctl`, because systemd cannot run in a lab host (not
 *   PID 1; the double starts the daemons from their unit files' ExecStart, chronyd with `-x`
 *   so it never sets the clock the lab shares with this machine); kubeadm, kubelet, kubectl,
 *   helm and clusterctl, shipped in the bundle's bin/ and installed by the runbook like
 *   pinned binaries; they validate what they receive and record every call.
 *
 * Asserts the order (containerd before kubeadm init, init before every join), the rendered
 * content on the hosts, that each host received only its own rendered files, that a step
 * broken for real on one host fails the run, is fixed and resumed by a new engine without
 * repeating what was done, and that a second run of the phase skips every host-step through
 * its check.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RunEngine,
  resolverFromPlan,
  type RunResult,
  type StepSpec,
} from '../../src/engine/index.js';
import { Renderer } from '../../src/render/render.js';
import { PAUSE_IMAGE } from '../../src/render/generators/kubernetes.js';
import { loadSiteRunbook, toStepSpecs } from '../../src/render/step-specs.js';
import { labAvailable } from '../lab/require-lab.js';
import { recordEvents } from '../support/engine-events.js';
import { prepareUmetalLab, type DoubleCall, type UmetalLab } from '../support/umetal-lab.js';
import { walk } from '../support/walk.js';

const available = labAvailable();
const INIT = 'umetal.kubeadm-init';
const PACKAGES = 'umetal.kubernetes-packages';
const JOIN_CONTROLLERS = 'umetal.join-controllers';
/** Calls that change something; a second run must make none. */
const CHANGES: [string, RegExp][] = [
  ['systemctl', /^(start|restart|stop|enable|disable|daemon-reload)$/],
  ['kubeadm', /^(init|join|reset)$/],
  ['kubectl', /^(apply|label|taint|create)$/],
  ['helm', /^(upgrade|uninstall)$/],
];
const changing = (c: DoubleCall) =>
  CHANGES.some(
    ([tool, verb]) => c.tool === tool && verb.test(c.argv.find((a) => !a.startsWith('-')) ?? ''),
  );

describe.skipIf(!available)('the uMetal phase on 6 lab hosts, from the bundle', () => {
  let u: UmetalLab;
  let tmp: string;
  let renderer: Renderer;
  let specs: StepSpec[];
  let hostSteps: number;
  let machineForwarding: string;
  const disposers: (() => unknown)[] = [];

  beforeAll(async () => {
    machineForwarding = (await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim();
    tmp = await mkdtemp(join(tmpdir(), 'ustart-umetal-lab-'));
    u = await prepareUmetalLab({ hosts: 6 });
    renderer = await Renderer.create(u.plan, await loadSiteRunbook());
    specs = toStepSpecs(renderer, ['umetal']);
    hostSteps = specs.reduce((n, s) => n + (s.targets as string[]).length, 0);
  }, 300_000);
  afterAll(async () => {
    for (const d of disposers.splice(0)) await d();
    await u?.dispose();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  let lastFailures = '';
  async function run(resume?: string): Promise<RunResult> {
    const engine = new RunEngine({
      transport: u.transport,
      runsDir: join(tmp, 'runs'),
      steps: specs,
      hosts: new Map(u.lab.hosts.map((h) => [h.name, u.lab.target(h.index)])),
      resolveTargets: resolverFromPlan(u.plan),
      retryDelayMs: () => 0,
      clusterLock: false,
      ...(resume ? { resume } : {}),
    });
    const events = recordEvents(engine);
    disposers.push(() => events.dispose());
    const result = await engine.run();
    // What failed and what it printed, for the assertion message when a run does not succeed.
    lastFailures = events
      .of('host-step-finished')
      .filter((e) => e.state !== 'succeeded' && e.state !== 'skipped')
      .map(
        (e) =>
          `${e.stepId}@${e.host}: ${e.state} ${e.message ?? ''}\n${events.output(e.stepId, e.host)}`,
      )
      .join('\n');
    lastRan = events
      .of('host-step-finished')
      .filter((e) => e.state === 'succeeded')
      .map((e) => `${e.stepId}@${e.host}`);
    return result;
  }
  let lastRan: string[] = [];

  const sh = async (host: number, command: string) => {
    const r = await u.lab.exec(host, command);
    expect(r.code, `${command}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const rendered = (stepId: string, host: number, path: string) =>
    renderer
      .renderStep(renderer.runbook.byId.get(stepId)!)
      .perHost.find((p) => p.host === u.lab.hosts[host]!.name)!
      .uploads.find((f) => f.path.endsWith(`/files${path}`))!.content;

  let failedRun: string;
  const broken = 3; // a compute node

  it(
    'stops failed when a step breaks for real on one host, with the OS baseline and containerd done on all',
    { timeout: 300_000 },
    async () => {
      // The kubelet binary is missing from this host's copy of the bundle: the
      // kubernetes-packages step falls back to apt, where no kubelet package exists.
      await sh(broken, 'rm /var/lib/ustart/bundle/bin/kubelet');
      const result = await run();
      expect(result.state).toBe('failed');
      expect(lastFailures).toContain(`${PACKAGES}@${u.lab.hosts[broken]!.name}: failed`);
      expect(lastFailures).toMatch(/Unable to locate package kubelet/);
      failedRun = result.runId;
      expect((await u.calls()).filter((c) => c.tool === 'kubeadm' && c.argv[0] === 'init')).toEqual(
        [],
      );
    },
  );

  let joinsFailed: string;
  let resumeCalls: DoubleCall[];
  let installsBefore: string[];

  it(
    'resumes after the fix with a new engine, repeating nothing that was done, until the joins fail',
    { timeout: 300_000 },
    async () => {
      const before = await u.calls();
      installsBefore = await aptInstalls();
      // The fix: the operator puts the file back from the verified bundle.
      const host = u.lab.hosts[broken]!;
      await copyFile(
        join(u.bundleDir, 'bin', 'kubelet'),
        `/proc/${host.pid}/root/var/lib/ustart/bundle/bin/kubelet`,
      );
      // Meanwhile every join fails (the doubles' injected fault), so the run stops after
      // kubeadm init, with the join material made.
      await writeFile(join(u.clusterState, 'fail'), 'kubeadm join\n');
      const result = await run(failedRun);
      expect(result.state).toBe('failed');
      expect(lastFailures).toContain(`${JOIN_CONTROLLERS}@${u.lab.hosts[1]!.name}: failed`);
      joinsFailed = result.runId;
      resumeCalls = (await u.calls()).slice(before.length);
    },
  );

  it(
    'resumed more than 2 hours after kubeadm init, makes new join material and completes',
    { timeout: 300_000 },
    async () => {
      // Time passes: kubeadm has deleted the uploaded certificates (2 hours,
      // docs/upstream-facts.md#kubeadm.cert-key-ttl); what the first controller recorded of
      // the upload says the same.
      const aged = Date.now() - 2 * 3600_000 - 60_000;
      const file = join(u.clusterState, 'kubeadm.json');
      const state = JSON.parse(await readFile(file, 'utf8')) as { certs: { uploadedAt: number } };
      state.certs.uploadedAt = aged;
      await writeFile(file, JSON.stringify(state));
      await sh(
        0,
        `sed -i 's/^KUBEADM_CERTS_UPLOADED_AT=.*/KUBEADM_CERTS_UPLOADED_AT=${Math.floor(aged / 1000)}/' /var/lib/ustart/out/join.env`,
      );
      const oldKey = (await u.calls()).findLast((c) => c.argv[2] === 'upload-certs')!.seen!
        .certificateKey;
      await rm(join(u.clusterState, 'fail'));
      const before = await u.calls();
      const result = await run(joinsFailed);
      expect(result.state, lastFailures).toBe('succeeded');
      const after = (await u.calls()).slice(before.length);
      // The engine checked kubeadm-init again; its check found the certificates too old, so
      // the step uploaded new ones, and every controller joined with the new key.
      const uploads = after.filter((c) => c.argv[2] === 'upload-certs');
      expect(uploads).toHaveLength(1);
      const joins = after.filter((c) => c.tool === 'kubeadm' && c.argv[0] === 'join' && c.ok);
      expect(joins.length).toBe(u.lab.hosts.length - 1);
      for (const j of joins.filter((c) => c.seen!.controlPlane))
        expect(j.seen!.certificateKey).not.toBe(oldKey);
      expect(lastRan).toContain(`${INIT}@${u.lab.hosts[0]!.name}`);
      // Over both resumes: only the broken host installed the Kubernetes tools, containerd
      // and chrony were started once per host in the first run only, apt installed nothing.
      const resumed = [...resumeCalls, ...after];
      const reloads = resumed.filter(
        (c) => c.tool === 'systemctl' && c.argv[0] === 'daemon-reload',
      );
      expect(reloads.map((c) => c.host)).toEqual([u.lab.hosts[broken]!.name]);
      expect(
        resumed.filter(
          (c) =>
            c.tool === 'systemctl' && /containerd|chrony/.test(c.argv.join(' ')) && changing(c),
        ),
      ).toEqual([]);
      expect(await aptInstalls()).toEqual(installsBefore);
    },
  );

  it('installed the OS baseline for real, from the bundle', async () => {
    const ntp = u.plan.site.ntp[0]!;
    for (const h of u.lab.hosts) {
      const i = h.index;
      expect((await sh(i, 'hostname; cat /etc/hostname')).split('\n').slice(0, 2)).toEqual([
        h.name,
        h.name,
      ]);
      const hosts = await sh(i, 'cat /etc/hosts');
      for (const s of u.plan.servers)
        expect(hosts).toContain(`\t${s.hostname}.${u.plan.site.domain}\t${s.hostname}`);
      // apt reads the bundle only, and the packages came from it.
      expect(await sh(i, `apt-get indextargets --format '$(URI)' | sort -u`)).toMatch(
        /^(file:\/var\/lib\/ustart\/bundle\/apt\/\S+\n)+$/,
      );
      expect(await sh(i, 'apt-cache policy containerd chrony')).toMatch(
        /\*\*\* \S+ 500\s+500 file:\/var\/lib\/ustart\/bundle\/apt \.\/ Packages/,
      );
      // chrony: the plan's server only, running, never allowed to set the clock.
      expect(await sh(i, 'cat /etc/chrony/chrony.conf')).toBe(
        rendered('umetal.time-sync', i, '/etc/chrony/chrony.conf'),
      );
      expect(await sh(i, `grep '^server' /etc/chrony/chrony.conf`)).toBe(`server ${ntp} iburst\n`);
      const chronyd = await sh(i, `tr '\\0' ' ' < /proc/$(cat /run/chrony/chronyd.pid)/cmdline`);
      expect(chronyd).toMatch(/^\/usr\/sbin\/chronyd .*-x/);
      expect(await sh(i, 'chronyc -n sources')).toContain(ntp);
      // Kernel: modules there, sysctls set in the host's own network namespace.
      expect(await sh(i, 'cat /etc/modules-load.d/ustart.conf')).toContain('br_netfilter');
      expect(
        (await sh(i, 'sysctl -n net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables')).split(
          '\n',
        ),
      ).toEqual(['1', '1', '']);
      // Swap off for every boot.
      expect(await sh(i, 'grep swap /etc/fstab')).toMatch(/^# disabled by uStart: \/swap\.img/m);
      // containerd from the bundle with the rendered configuration, and the pause image.
      expect(await sh(i, 'cat /etc/containerd/config.toml')).toBe(
        rendered('umetal.containerd', i, '/etc/containerd/config.toml'),
      );
      expect(await sh(i, 'cat /etc/containerd/config.toml')).toContain('SystemdCgroup = true');
      expect(await sh(i, 'ctr version')).toMatch(/Server:\s+Version:\s+1\.6\./);
      // The pause image by its upstream name, with the bundle's digest: on a controller kubeadm
      // pulled it through the site registry's mirrors; every other host pulls it the same way
      // (the CRI's resolver, docs/upstream-facts.md#registry-ctr-hosts-dir). The lab has no
      // route out, so it can only come from the site.
      if (!u.plan.servers.find((s) => s.hostname === h.name)!.roles.includes('controller'))
        await sh(i, `ctr -n k8s.io images pull --hosts-dir /etc/containerd/certs.d ${PAUSE_IMAGE}`);
      expect(await sh(i, 'ctr -n k8s.io images ls')).toMatch(
        new RegExp(
          `^${PAUSE_IMAGE.replace(/[.]/g, '\\.')}\\s.*${u.bundle.pauseImage.manifestDigest}`,
          'm',
        ),
      );
    }
    // The sysctls stayed in the lab: this machine's own forwarding setting is unchanged.
    expect((await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim()).toBe(
      machineForwarding,
    );
    // Every sysctl the runbook sets is per network namespace.
    const sysctls = await readFile(join(renderer.runbook.dirs[0]!, 'files', 'sysctl.conf'), 'utf8');
    for (const line of sysctls.split('\n').filter((l) => l && !l.startsWith('#')))
      expect(line).toMatch(/^net\./);
  });

  it("created the cluster after containerd, then joined every other host with init's material", async () => {
    const all = await u.calls();
    const init = all.find(
      (c) => c.tool === 'kubeadm' && c.argv[0] === 'init' && c.argv[1] === '--config',
    )!;
    expect(init.host).toBe(u.lab.hosts[0]!.name);
    const containerd = all.filter(
      (c) => c.tool === 'systemctl' && c.argv[0] === 'restart' && c.argv.includes('containerd'),
    );
    expect(containerd.map((c) => c.host).sort()).toEqual(u.lab.hosts.map((h) => h.name).sort());
    for (const c of containerd) expect(BigInt(c.clockNs) < BigInt(init.clockNs)).toBe(true);
    expect(await sh(0, 'cat /etc/ustart/kubeadm/init.yaml')).toBe(
      rendered(INIT, 0, '/etc/ustart/kubeadm/init.yaml'),
    );
    const tokens = new Set(
      all.filter((c) => c.argv[0] === 'token' && c.argv[1] === 'create').map((c) => c.seen!.token),
    );
    const key = all.findLast((c) => c.argv[2] === 'upload-certs')!.seen!.certificateKey;
    const joins = all.filter((c) => c.tool === 'kubeadm' && c.argv[0] === 'join' && c.ok);
    expect(joins.map((c) => c.host).sort()).toEqual(
      u.lab.hosts
        .slice(1)
        .map((h) => h.name)
        .sort(),
    );
    for (const j of joins) {
      expect(BigInt(j.clockNs) > BigInt(init.clockNs)).toBe(true);
      expect(tokens.has(j.seen!.token)).toBe(true);
      const controller = u.plan.servers
        .find((s) => s.hostname === j.host)!
        .roles.includes('controller');
      expect(j.seen!.controlPlane).toBe(controller);
      if (controller) expect(j.seen!.certificateKey).toBe(key);
    }
    const labelled = all
      .filter((c) => c.tool === 'kubectl' && c.argv[0] === 'label' && c.argv[1] === 'node')
      .map((c) => c.argv[2]);
    expect(new Set(labelled)).toEqual(new Set(u.plan.servers.map((s) => s.hostname)));
    const releases = all
      .filter((c) => c.tool === 'helm' && c.argv[0] === 'upgrade')
      .map((c) => c.argv[2]);
    expect(releases.sort()).toEqual(['alloy', 'cilium', 'loki', 'monitoring', 'rook-ceph']);
    // The join material never reaches the run folder.
    const token = [...tokens][0] as string;
    for (const file of await walk(join(tmp, 'runs')))
      expect(await readFile(file, 'utf8'), file).not.toContain(token);
  });

  it('sent each host only its own rendered files', async () => {
    for (const h of u.lab.hosts) {
      const envs = await sh(h.index, 'ls /var/lib/ustart/hosts/*/env');
      expect(envs.trim()).toBe(`/var/lib/ustart/hosts/${h.name}/env`);
      const files = await sh(h.index, 'find /var/lib/ustart/hosts -type f');
      for (const other of u.lab.hosts.filter((o) => o !== h))
        expect(files).not.toContain(`/hosts/${other.name}/`);
    }
  });

  it(
    'skips every host-step on a second run: the checks see the work done',
    { timeout: 300_000 },
    async () => {
      const before = (await u.calls()).length;
      const result = await run();
      expect(result.state, lastFailures).toBe('succeeded');
      expect(lastRan).toEqual([]);
      expect(result.counts.skipped).toBe(hostSteps);
      expect(result.counts.succeeded).toBe(0);
      expect((await u.calls()).slice(before).filter(changing)).toEqual([]);
    },
  );

  /** apt's history on every host: one line per install it made. */
  async function aptInstalls(): Promise<string[]> {
    const all: string[] = [];
    for (const h of u.lab.hosts)
      all.push(
        ...(await sh(h.index, "grep -h '^Install:' /var/log/apt/history.log || true"))
          .split('\n')
          .filter(Boolean)
          .map((l) => `${h.name} ${l}`),
      );
    return all;
  }
});
