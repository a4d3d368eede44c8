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
});
