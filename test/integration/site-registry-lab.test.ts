/**
 * The site registry of an air-gapped install, with real parts on lab hosts (no route out of
 * the lab, like a customer site): the runbook's real steps, run by the real engine from the
 * lab's signed bundle — apt from the bundle, containerd with the rendered configuration and
 * hosts.toml, Debian's docker-registry (distribution 2.8) on the 3 controllers with the
 * rendered configuration, the bundle's images pushed into it with skopeo — then real
 * containerd on a compute host pulls `docker.io/library/ustart-hello:1.0` and
 * `registry.k8s.io/pause:3.10` by their upstream names through the mirrors.
 *
 * "Nothing leaves the site": the lab hosts have no route out; the same pull without the
 * hosts.toml fails (containerd would ask registry-1.docker.io); an image the site registry
 * lacks is "not found" at once (the mirror answers, no upstream fallback is configured).
 * The only double is `systemctl` (systemd cannot run in a lab host): it starts
 * docker-registry and containerd from the units the Debian packages installed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunEngine, resolverFromPlan, type StepSpec } from '../../src/engine/index.js';
import type { Plan } from '../../src/plan/schema.js';
import { PAUSE_IMAGE } from '../../src/render/generators/kubernetes.js';
import { Renderer } from '../../src/render/render.js';
import { loadSiteRunbook, toStepSpecs } from '../../src/render/step-specs.js';
import { labAvailable } from '../lab/require-lab.js';
import { recordEvents } from '../support/engine-events.js';
import { HUB_TEST_IMAGE, prepareUmetalLab, type UmetalLab } from '../support/umetal-lab.js';

const available = labAvailable();
/** The steps up to the site registry; `after` entries outside this set are dropped. */
const STEPS = [
  'umetal.package-source',
  'umetal.host-tools',
  'umetal.containerd',
  'umetal.site-registry',
];
const CLIENT = 3; // cmp-04: no registry of its own
const CTR = 'ctr -n k8s.io';
const HOSTS_DIR = '--hosts-dir /etc/containerd/certs.d';

describe.skipIf(!available)('the site registry on lab hosts, from the bundle', () => {
  let u: UmetalLab;
  let tmp: string;
  let plan: Plan;
  let specs: StepSpec[];
  const disposers: (() => unknown)[] = [];

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ustart-site-registry-'));
    u = await prepareUmetalLab({ hosts: 4 });
    plan = structuredClone(u.plan);
    plan.site.airGapped = true;
    const renderer = await Renderer.create(plan, await loadSiteRunbook());
    specs = toStepSpecs(renderer, ['umetal'])
      .filter((s) => STEPS.includes(s.id))
      .map((s) => ({ ...s, after: (s.after ?? []).filter((a) => STEPS.includes(a)) }));
    expect(specs.map((s) => s.id).sort()).toEqual([...STEPS].sort());
  }, 300_000);
  afterAll(async () => {
    for (const d of disposers.splice(0)) await d();
    await u?.dispose();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  async function run() {
    const engine = new RunEngine({
      transport: u.transport,
      runsDir: join(tmp, 'runs'),
      steps: specs,
      hosts: new Map(u.lab.hosts.map((h) => [h.name, u.lab.target(h.index)])),
      resolveTargets: resolverFromPlan(plan),
      retryDelayMs: () => 0,
      clusterLock: false,
    });
    const events = recordEvents(engine);
    disposers.push(() => events.dispose());
    const result = await engine.run();
    const finished = events.of('host-step-finished');
    const failures = finished
      .filter((e) => e.state !== 'succeeded' && e.state !== 'skipped')
      .map((e) => `${e.stepId}@${e.host}: ${e.state}\n${events.output(e.stepId, e.host)}`)
      .join('\n');
    const registryOutput = events.output('umetal.site-registry', u.lab.hosts[0]!.name);
    return { result, finished, failures, registryOutput };
  }

  const sh = async (host: number, command: string) => {
    const r = await u.lab.exec(host, command);
    expect(r.code, `${command}: ${r.stdout}${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const mgmt = (host: number) => u.lab.hosts[host]!.address;

  it(
    'serves the bundle images on every controller under their upstream names, read-only',
    { timeout: 600_000 },
    async () => {
      const { result, failures, registryOutput } = await run();
      expect(result.state, failures).toBe('succeeded');
      expect(registryOutput).toContain(`pushing ${HUB_TEST_IMAGE}`);
      for (const c of [0, 1, 2]) {
        const catalog = JSON.parse(await sh(c, `curl -fsS http://${mgmt(c)}:5000/v2/_catalog`)) as {
          repositories: string[];
        };
        // The upstream registry is the repository's first path part: the name grammar allows it.
        expect(catalog.repositories).toEqual(
          expect.arrayContaining(['docker.io/library/ustart-hello', 'registry.k8s.io/pause']),
        );
        // Read-only on the network: an upload is refused; the loopback writer is gone.
        const upload = await sh(
          c,
          `curl -s -o /dev/null -w '%{http_code}' -X POST http://${mgmt(c)}:5000/v2/docker.io/library/ustart-hello/blobs/uploads/`,
        );
        expect(upload).not.toBe('202');
        expect((await u.lab.exec(c, 'curl -fsS http://127.0.0.1:5001/v2/')).code).not.toBe(0);
      }
    },
  );

  it(
    'lets containerd pull by upstream name through the mirrors, and nothing leaves the site',
    { timeout: 300_000 },
    async () => {
      // No route out of the site: any contact with an upstream registry would fail.
      expect((await u.lab.exec(CLIENT, 'ip route get 1.1.1.1')).code).not.toBe(0);
      // Rendered config points the CRI at the hosts.toml files.
      expect(await sh(CLIENT, 'cat /etc/containerd/config.toml')).toContain(
        'config_path = "/etc/containerd/certs.d"',
      );

      await sh(CLIENT, `${CTR} images pull ${HOSTS_DIR} ${HUB_TEST_IMAGE}`);
      const listed = await sh(CLIENT, `${CTR} images list`);
      const line = listed.split('\n').find((l) => l.startsWith(`${HUB_TEST_IMAGE} `));
      // Same digest as in the bundle: pushed with skopeo --preserve-digests, no conversion.
      expect(line).toContain(u.bundle.hubImage.manifestDigest);
      expect(
        await sh(CLIENT, `${CTR} content get ${u.bundle.hubImage.manifestDigest} | head -c 200`),
      ).toContain('schemaVersion');

      // The negative control: without the mirrors containerd goes for registry-1.docker.io.
      await sh(CLIENT, `${CTR} images rm ${HUB_TEST_IMAGE}`);
      const direct = await u.lab.exec(CLIENT, `${CTR} images pull ${HUB_TEST_IMAGE}`);
      expect(direct.code).not.toBe(0);
      expect(direct.stdout + direct.stderr).toMatch(/registry-1\.docker\.io/);

      // An image the site does not have: the mirror answers "not found", no upstream fallback.
      const absent = await u.lab.exec(
        CLIENT,
        `${CTR} images pull ${HOSTS_DIR} docker.io/library/ustart-absent:1.0`,
      );
      expect(absent.code).not.toBe(0);
      expect(absent.stdout + absent.stderr).toMatch(/not found/);
      expect(absent.stdout + absent.stderr).not.toMatch(/registry-1\.docker\.io/);
    },
  );

  it(
    'still pulls when the first controller registry is down, and a second run changes nothing',
    { timeout: 300_000 },
    async () => {
      await sh(0, 'systemctl stop docker-registry');
      expect((await u.lab.exec(0, `curl -fsS http://${mgmt(0)}:5000/v2/`)).code).not.toBe(0);
      await sh(CLIENT, `${CTR} images pull ${HOSTS_DIR} ${PAUSE_IMAGE}`);
      expect(await sh(CLIENT, `${CTR} images list -q`)).toContain(PAUSE_IMAGE);
      await sh(0, 'systemctl start docker-registry');
      // Polled on the host until it answers (its start is asynchronous), at most 30 s.
      await sh(
        0,
        `for i in $(seq 60); do curl -fsS http://${mgmt(0)}:5000/v2/ >/dev/null && exit 0; sleep 0.5; done; exit 1`,
      );

      const second = await run();
      expect(second.result.state, second.failures).toBe('succeeded');
      const registrySteps = second.finished.filter((e) => e.stepId === 'umetal.site-registry');
      expect(registrySteps.map((e) => e.state)).toEqual(['skipped', 'skipped', 'skipped']);
    },
  );
});
