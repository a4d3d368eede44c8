/**
 * A folder bundle pushed as one tar stream (src/bundle/push-stream.ts) to a real lab host:
 * every file lands checked with its mode, nothing of the staging folder is left; a byte
 * changed here after verification is refused on the host and nothing is put in place; a
 * push cancelled mid-file leaves no partial file in the bundle folder and the next push
 * resumes from what the host kept; a kept file that holds other bytes fails the check and
 * is not kept again.
 */
import { randomBytes } from 'node:crypto';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushBundle, verifyBundle, type BundleEvent } from '../../src/bundle/index.js';
import { MANIFEST_NAME } from '../../src/bundle/manifest.js';
import { KnownHosts } from '../../src/ssh/known-hosts.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-transport.js';
import { createLab, type Lab } from '../lab/lab.js';
import { labAvailable } from '../lab/require-lab.js';
import { bundleFixture, type BundleFixture } from './bundle-fixture.js';

const available = labAvailable();
const BIG = 48 * 1024 * 1024;

describe.skipIf(!available)('folder bundle pushed as one stream', () => {
  let fx: BundleFixture;
  let lab: Lab;
  let transport: Ssh2Transport;
  let bundle: string;

  beforeAll(async () => {
    fx = await bundleFixture('debian-12');
    const big = join(fx.dir, 'big.bin');
    await writeFile(big, randomBytes(BIG));
    bundle = join(fx.dir, 'bundle');
    await fx.build(bundle, {
      add: [
        { kind: 'binary', path: fx.inputs.binary },
        { kind: 'file', path: fx.inputs.text },
        { kind: 'chart', path: fx.inputs.charts },
        { kind: 'file', path: big },
      ],
    });
    lab = await createLab({ hosts: 1 });
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

  const listing = async (dir: string) =>
    (await lab.exec(0, `cd ${dir} && find . -type f -printf '%m %P\\n' | sort`)).stdout;

  it('delivers every file checked, with its mode, and leaves no staging behind', async () => {
    const report = await verifyBundle(bundle, fx.publicKey);
    expect(report.problems).toEqual([]);
    const remoteDir = '/var/lib/ustart/stream-ok';
    const events: BundleEvent[] = [];
    const pushed = await pushBundle(transport, lab.target(0), report, {
      remoteDir,
      onEvent: (e) => events.push(e),
    });
    const files = await listing(remoteDir);
    expect(files).toContain('755 bin/kubeadm\n');
    expect(files).toContain('644 files/big.bin\n');
    expect(files).toContain(`644 ${MANIFEST_NAME}\n`);
    expect(files).not.toContain('.incoming');
    expect(files).not.toContain('.ustart');
    const sums = await lab.exec(
      0,
      `cd ${remoteDir} && sha256sum ${pushed.entries.map((e) => e.path).join(' ')}`,
    );
    for (const e of pushed.entries) expect(sums.stdout).toContain(`${e.sha256}  ${e.path}`);
    const started = events.find((e) => e.type === 'phase-started');
    const finished = events.filter((e) => e.type === 'item-finished');
    expect(finished.length).toBe(started?.type === 'phase-started' ? started.totalItems : -1);
    // Pushed again over itself: same result, the bundle folder replaced file by file.
    await pushBundle(transport, lab.target(0), report, { remoteDir });
    expect(await listing(remoteDir)).toBe(files);
  });

  it('refuses a byte changed after verification and puts nothing in place', async () => {
    const report = await verifyBundle(bundle, fx.publicKey);
    expect(report.problems).toEqual([]);
    const tampered = join(bundle, 'bin', 'kubeadm');
    const fh = await open(tampered, 'r+');
    const byte = Buffer.alloc(1);
    try {
      await fh.read(byte, 0, 1, 1000);
      await fh.write(Buffer.from([byte[0]! ^ 0xff]), 0, 1, 1000);
      const remoteDir = '/var/lib/ustart/stream-corrupt';
      await expect(pushBundle(transport, lab.target(0), report, { remoteDir })).rejects.toThrow(
        /does not match its manifest[^]*bin\/kubeadm: FAILED/,
      );
      // Nothing reached the bundle folder, and the staging folder is gone (no resume from it).
      expect(await listing(remoteDir)).toBe('');
    } finally {
      await fh.write(byte, 0, 1, 1000);
      await fh.close();
    }
  });

  it(
    'leaves no partial file when cancelled mid-file, resumes, and drops a kept file that differs',
    { timeout: 120_000 },
    async () => {
      const report = await verifyBundle(bundle, fx.publicKey);
      expect(report.problems).toEqual([]);
      const remoteDir = '/var/lib/ustart/stream-cancel';
      const cancel = async () => {
        const abort = new AbortController();
        await expect(
          pushBundle(transport, lab.target(0), report, {
            remoteDir,
            signal: abort.signal,
            onEvent: (e) => {
              if (
                e.type === 'progressed' &&
                e.item === 'files/big.bin' &&
                (e.itemDoneBytes ?? 0) > 16 * 1024 * 1024
              )
                abort.abort();
            },
          }),
        ).rejects.toThrow(/cancelled/);
        // The destination holds no file yet; the staging folder holds a part of big.bin.
        expect(await listing(remoteDir)).not.toMatch(/^\d+ (files|bin|manifest)/m);
        const kept = await lab.exec(0, `find ${remoteDir}/.incoming -name big.bin -printf '%s %i'`);
        const [size, inode] = kept.stdout.split(' ').map(Number);
        expect(size).toBeGreaterThan(0);
        expect(size).toBeLessThan(BIG);
        return inode!;
      };

      // 1. Cancelled, then pushed again: big.bin resumes from what the host kept (its tail
      //    is appended to the kept file, which is then renamed into place: same inode). A
      //    file the check list does not name, left in staging, is not put in place.
      const keptInode = await cancel();
      await lab.exec(
        0,
        `d=$(dirname "$(find ${remoteDir}/.incoming -name big.bin)"); echo stray > "$d/stray.bin"`,
      );
      await pushBundle(transport, lab.target(0), report, { remoteDir });
      expect((await lab.exec(0, `find ${remoteDir} -name stray.bin`)).stdout).toBe('');
      const entry = report.manifest!.entries.find((e) => e.path === 'files/big.bin')!;
      const sum = await lab.exec(0, `sha256sum ${remoteDir}/files/big.bin`);
      expect(sum.stdout).toContain(entry.sha256);
      const placed = await lab.exec(0, `stat -c %i ${remoteDir}/files/big.bin`);
      expect(Number(placed.stdout)).toBe(keptInode);

      // 2. Cancelled again into a fresh folder, the kept part damaged on the host: refused,
      //    the staging folder removed, and the push after that starts clean and succeeds.
      await lab.exec(0, `rm -rf ${remoteDir}`);
      await cancel();
      await lab.exec(
        0,
        `f=$(find ${remoteDir}/.incoming -name big.bin); printf 'X' | dd of="$f" bs=1 seek=100 conv=notrunc status=none`,
      );
      await expect(pushBundle(transport, lab.target(0), report, { remoteDir })).rejects.toThrow(
        /does not match its manifest[^]*files\/big.bin: FAILED/,
      );
      expect((await lab.exec(0, `find ${remoteDir} -name big.bin`)).stdout).toBe('');
      await pushBundle(transport, lab.target(0), report, { remoteDir });
      expect((await lab.exec(0, `sha256sum ${remoteDir}/files/big.bin`)).stdout).toContain(
        entry.sha256,
      );
    },
  );

  it(
    'waits for an earlier receiver that puts its files in place and removes the staging folder',
    { timeout: 120_000 },
    async () => {
      const report = await verifyBundle(bundle, fx.publicKey);
      expect(report.problems).toEqual([]);
      const remoteDir = '/var/lib/ustart/stream-lock';
      // A cancelled push leaves the staging folder the next push of this bundle uses.
      const abort = new AbortController();
      await expect(
        pushBundle(transport, lab.target(0), report, {
          remoteDir,
          signal: abort.signal,
          onEvent: (e) => {
            if (e.type === 'progressed') abort.abort();
          },
        }),
      ).rejects.toThrow(/cancelled/);
      const incoming = `${remoteDir}/.incoming`;
      const staging = (
        await lab.exec(0, `find ${incoming} -mindepth 1 -maxdepth 1 -type d -name 'stream-*'`)
      ).stdout.trim();
      expect(staging).toMatch(/stream-[0-9a-f]{16}$/);
      // An earlier receiver (of a lost connection) holds the lock, as this version's and the
      // one before it took it; once the next receiver waits for it, it ends the way a
      // receiver that finished ends: the staging folder and the old lock file removed.
      const held = `/tmp/ustart-lock-held-${process.pid}`;
      const started = await lab.exec(
        0,
        `rm -f ${held}; (exec 8<${incoming}; flock 8; exec 9>>${staging}.lock; flock 9; touch ${held};` +
          ` n=0; until pgrep -f '^flock -w 120 9' >/dev/null || [ $n -ge 1200 ]; do sleep 0.1; n=$((n+1)); done;` +
          ` rm -rf ${staging} ${staging}.lock) </dev/null >/dev/null 2>&1 &` +
          ` n=0; until [ -e ${held} ] || [ $n -ge 200 ]; do sleep 0.05; n=$((n+1)); done; [ -e ${held} ]`,
      );
      expect(started.code).toBe(0);
      try {
        const pushed = await pushBundle(transport, lab.target(0), report, { remoteDir });
        const sums = await lab.exec(
          0,
          `cd ${remoteDir} && sha256sum ${pushed.entries.map((e) => e.path).join(' ')}`,
        );
        for (const e of pushed.entries) expect(sums.stdout).toContain(`${e.sha256}  ${e.path}`);
        expect(await listing(remoteDir)).not.toContain('.incoming');
      } finally {
        await lab.exec(0, `rm -f ${held}`);
      }
    },
  );
});
