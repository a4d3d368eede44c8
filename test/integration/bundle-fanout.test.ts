/**
 * A bundle to several lab hosts crossing this machine's link once (pushBundleToHosts): the
 * first host gets it from here, the others fetch it from the first over the lab's bridge,
 * each checking every file against the manifest. A file damaged on the serving host is
 * refused by the fetching host, which puts nothing in place.
 */
import { writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fetchBundleFrom,
  pushBundle,
  pushBundleToHosts,
  verifyBundle,
  type BundleEvent,
  type VerifyReport,
} from '../../src/bundle/index.js';
import { KnownHosts } from '../../src/ssh/known-hosts.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-transport.js';
import { createLab, type Lab } from '../lab/lab.js';
import { labAvailable } from '../lab/require-lab.js';
import { bundleFixture, type BundleFixture } from './bundle-fixture.js';

const available = labAvailable();

describe.skipIf(!available)('bundle fanned out host to host', () => {
  let fx: BundleFixture;
  let lab: Lab;
  let transport: Ssh2Transport;
  let report: VerifyReport;

  beforeAll(async () => {
    fx = await bundleFixture('debian-12');
    const big = join(fx.dir, 'big.bin');
    await writeFile(big, randomBytes(8 * 1024 * 1024));
    const bundle = join(fx.dir, 'bundle');
    await fx.build(bundle, {
      add: [
        { kind: 'binary', path: fx.inputs.binary },
        { kind: 'file', path: fx.inputs.text },
        { kind: 'chart', path: fx.inputs.charts },
        { kind: 'file', path: big },
      ],
    });
    report = await verifyBundle(bundle, fx.publicKey);
    expect(report.problems).toEqual([]);
    lab = await createLab({ hosts: 3 });
    transport = new Ssh2Transport({
      knownHosts: new KnownHosts(lab.knownHostsPath),
      agentSocket: null,
      identityFiles: [lab.clientKeyPath],
    });
  }, 120_000);
  afterAll(async () => {
    await transport?.dispose();
    await lab?.dispose();
    await fx?.dispose();
  });

  const listing = async (i: number, dir: string) =>
    (await lab.exec(i, `cd ${dir} && find . -type f -printf '%m %P\\n' | sort`)).stdout;

  it('delivers to every host, checked, with modes; the others fetch from the first', async () => {
    const remoteDir = '/var/lib/ustart/fanout';
    const events: { host: string; event: BundleEvent }[] = [];
    const pushed = await pushBundleToHosts(
      transport,
      lab.hosts.map((h) => lab.target(h.index)),
      report,
      { remoteDir, onEvent: (host, event) => events.push({ host, event }) },
    );
    expect(pushed.map((p) => p.host)).toEqual(lab.hosts.map((h) => h.name));
    const first = await listing(0, remoteDir);
    expect(first).toContain('755 bin/kubeadm\n');
    expect(first).toContain('644 files/big.bin\n');
    for (const i of [1, 2]) expect(await listing(i, remoteDir)).toBe(first);
    const sums = await lab.exec(2, `cd ${remoteDir} && sha256sum files/big.bin bin/kubeadm`);
    for (const e of report.manifest!.entries.filter((e) => /big|kubeadm/.test(e.path))) {
      expect(sums.stdout).toContain(`${e.sha256}  ${e.path}`);
    }
    // Only the first host's files crossed this machine's link: the others report no bytes sent.
    for (const h of lab.hosts.slice(1)) {
      const sent = events.filter(
        (e) => e.host === h.name && e.event.type === 'progressed' && e.event.doneBytes > 0,
      );
      expect(sent).toEqual([]);
      const finished = events.filter((e) => e.host === h.name && e.event.type === 'item-finished');
      expect(finished.length).toBe(pushed[0]!.entries.length + 2);
    }
  });

  it('refuses a file damaged on the serving host and puts nothing in place', async () => {
    const remoteDir = '/var/lib/ustart/fanout-damaged';
    const pushed = await pushBundle(transport, lab.target(0), report, { remoteDir });
    await lab.exec(
      0,
      `printf 'X' | dd of=${remoteDir}/files/big.bin bs=1 seek=4096 conv=notrunc status=none`,
    );
    await expect(
      fetchBundleFrom(transport, lab.target(0), pushed, [lab.target(1)], report),
    ).rejects.toThrow(/does not match its manifest[^]*files\/big.bin: FAILED/);
    expect(await listing(1, remoteDir)).toBe('');
    // The serving host's web server is gone with the fan-out.
    const served = await lab.exec(0, 'pgrep -f "http[.]server" || true');
    expect(served.stdout.trim()).toBe('');
  });

  /** Cancels a push from here to host `i` as it starts: its staging folder is left there. */
  const stagingLeftOn = async (i: number, remoteDir: string) => {
    const abort = new AbortController();
    await expect(
      pushBundle(transport, lab.target(i), report, {
        remoteDir,
        signal: abort.signal,
        onEvent: (e) => {
          if (e.type === 'progressed') abort.abort();
        },
      }),
    ).rejects.toThrow(/cancelled/);
    const found = await lab.exec(
      i,
      `find ${remoteDir}/.incoming -mindepth 1 -maxdepth 1 -type d -name 'stream-*'`,
    );
    const staging = found.stdout.trim();
    expect(staging).toMatch(/stream-[0-9a-f]{16}$/);
    return staging;
  };

  it(
    'fetches again whole a file a cut receiver left short, and fetches nothing when all is staged',
    { timeout: 120_000 },
    async () => {
      const remoteDir = '/var/lib/ustart/fanout-resume';
      const pushed = await pushBundle(transport, lab.target(0), report, { remoteDir });
      const events: { host: string; event: BundleEvent }[] = [];
      const fetch = () =>
        fetchBundleFrom(transport, lab.target(0), pushed, [lab.target(1)], report, {
          onEvent: (host, event) => events.push({ host, event }),
        });
      const fromHere = () =>
        events.filter(
          (e) =>
            e.event.type === 'retried' || (e.event.type === 'progressed' && e.event.doneBytes > 0),
        );

      // 1. big.bin cut short in the staging folder: the server ignores Range, so it is
      //    fetched again whole (not resumed, not pushed from here).
      const staging = await stagingLeftOn(1, remoteDir);
      await lab.exec(
        1,
        `mkdir -p ${staging}/files && head -c 4096 /dev/zero > ${staging}/files/big.bin`,
      );
      await fetch();
      expect(fromHere()).toEqual([]);
      const first = await listing(0, remoteDir);
      expect(await listing(1, remoteDir)).toBe(first);
      const big = report.manifest!.entries.find((e) => e.path === 'files/big.bin')!;
      const sum = await lab.exec(1, `sha256sum ${remoteDir}/files/big.bin`);
      expect(sum.stdout).toContain(big.sha256);

      // 2. Every file whole in the staging folder (the receiver was stopped before its
      //    check): nothing to fetch, checked and put in place.
      const again = await stagingLeftOn(1, remoteDir);
      await lab.exec(
        1,
        `cd ${remoteDir} && tar -c --exclude=./.incoming . | tar -x -C ${again} && find . -path ./.incoming -prune -o -type f -exec rm -f {} +`,
      );
      expect(await listing(1, remoteDir)).not.toMatch(/^\d+ (files|bin|bundle)/m);
      await fetch();
      expect(fromHere()).toEqual([]);
      expect(await listing(1, remoteDir)).toBe(first);
    },
  );

  it('pushes from here to a host that cannot fetch from the serving one', async () => {
    const remoteDir = '/var/lib/ustart/fanout-fallback';
    const pushed = await pushBundle(transport, lab.target(0), report, { remoteDir });
    // The serving host lost a file: the fetch gets a 404.
    await lab.exec(0, `rm ${remoteDir}/files/big.bin`);
    const events: { host: string; event: BundleEvent }[] = [];
    const [done] = await fetchBundleFrom(
      transport,
      lab.target(0),
      pushed,
      [lab.target(1)],
      report,
      {
        onEvent: (host, event) => events.push({ host, event }),
      },
    );
    expect(done?.host).toBe(lab.hosts[1]!.name);
    const retried = events.filter((e) => e.event.type === 'retried');
    expect(retried.length).toBe(1);
    const said = retried[0]!.event.type === 'retried' ? retried[0]!.event.message : '';
    expect(said).toMatch(
      new RegExp(
        `could not fetch the bundle from ${lab.hosts[0]!.name}[^]*404[^]*from this machine`,
      ),
    );
    const big = report.manifest!.entries.find((e) => e.path === 'files/big.bin')!;
    const sum = await lab.exec(1, `sha256sum ${remoteDir}/files/big.bin`);
    expect(sum.stdout).toContain(big.sha256);
    expect(await listing(1, remoteDir)).toContain('755 bin/kubeadm\n');
  });

  it('stops the web server when the connection to the serving host is lost', async () => {
    const remoteDir = '/var/lib/ustart/fanout-lost';
    const pushed = await pushBundle(transport, lab.target(0), report, { remoteDir });
    let killing: Promise<unknown> | undefined;
    const [done] = await fetchBundleFrom(
      transport,
      lab.target(0),
      pushed,
      [lab.target(1)],
      report,
      {
        onEvent: (host, event) => {
          // The server is up once the fetching host starts: every SSH session to the serving
          // host ends at once, as when its connection is lost. Only that host's: its sshd's
          // children (the lab shares one PID namespace; a pattern would kill other tests'
          // sessions too).
          if (host === lab.hosts[1]!.name && event.type === 'phase-started' && !killing) {
            killing = lab.exec(0, `pkill -KILL -P ${lab.hosts[0]!.pid} || true`);
          }
        },
      },
    );
    await killing;
    expect(killing).toBeDefined();
    // Fetched before the loss, or pushed from here after it: the host has the bundle.
    expect(done?.host).toBe(lab.hosts[1]!.name);
    expect(await listing(1, remoteDir)).toBe(await listing(0, remoteDir));
    // The server saw its stdin end with the channel and exited (waited for on the host).
    const left = await lab.exec(
      0,
      `n=0; while pgrep -f 'http[.]server' >/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done; pgrep -f 'http[.]server' || true`,
    );
    expect(left.stdout.trim()).toBe('');
  });

  it('lets every host end before it stops the server and throws a failure', async () => {
    const remoteDir = '/var/lib/ustart/fanout-settled';
    const pushed = await pushBundle(transport, lab.target(0), report, { remoteDir });
    // Host 1 cannot create the bundle folder (a file is in its way): it fails at once.
    await lab.exec(1, `mkdir -p /var/lib/ustart && rm -rf ${remoteDir} && touch ${remoteDir}`);
    // Host 2 is slow: its receiver waits 3 s for a lock held on the host, so host 1 has
    // failed long before host 2 fetches (the old code stopped the server then).
    const held = `/tmp/ustart-fanout-held-${process.pid}`;
    const holding = await lab.exec(
      2,
      `rm -f ${held}; mkdir -p ${remoteDir}/.incoming && (exec 8<${remoteDir}/.incoming; flock 8; touch ${held}; sleep 3) </dev/null >/dev/null 2>&1 &` +
        ` n=0; until [ -e ${held} ] || [ $n -ge 200 ]; do sleep 0.05; n=$((n+1)); done; [ -e ${held} ]`,
    );
    expect(holding.code).toBe(0);
    try {
      await expect(
        fetchBundleFrom(transport, lab.target(0), pushed, [lab.target(1), lab.target(2)], report),
      ).rejects.toThrow(new RegExp(`could not put the bundle in place in ${lab.hosts[1]!.name}`));
      // Host 2 was not cut off by the server stopping: it holds the whole bundle, checked.
      expect(await listing(2, remoteDir)).toBe(await listing(0, remoteDir));
    } finally {
      await lab.exec(1, `rm -f ${remoteDir}`);
      await lab.exec(2, `rm -f ${held}`);
    }
  });
});
