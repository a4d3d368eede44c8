/**
 * A bundle to several lab hosts crossing this machine's link once (pushBundleToHosts): the
 * first host gets it from here, the others fetch it from the first over the lab's bridge,
 * each checking every file against the manifest. A file damaged on the serving host is
 * refused by the fetching host, which puts nothing in place.
 *
 * The run's `umetal.bundle` step does the same through the engine (its `local` once per host,
 * in parallel): the bytes this machine's transport sends are counted per host, so a push per
 * host (the old step) fails here; a source that fails, or that a firewall hides, makes the
 * other hosts take the bundle from here, saying so (as does a file damaged on the source); the
 * web server on the source is gone when the step ends or is cancelled.
 *
 * The chain relay (relayBundleToHosts, and the step with DeliveryOptions.relay): one bundle
 * crosses this machine's link, the hosts receive while the first still does (the receivers'
 * timestamped logs), and a host killed mid-chain, a damaged stream, a listener that cannot
 * start, a firewall or a cancel each end with every host checked or pushed to from here and
 * nothing of the relay left listening or running.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
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
import { FROM_HERE, relayBundleToHosts, type RelayedBundle } from '../../src/bundle/push-relay.js';
import { relayEvent } from '../../src/bundle/push-stream.js';
import {
  BUNDLE_STEP_ID,
  BUNDLE_VERIFIED_MARKER,
  bundleDeliveryStep,
} from '../../src/bundle/delivery-step.js';
import { logPath, RunEngine, type StepSpec } from '../../src/engine/index.js';
import { KnownHosts } from '../../src/ssh/known-hosts.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-transport.js';
import type {
  ExecOptions,
  HostConnection,
  HostTarget,
  Transport,
  UploadOptions,
} from '../../src/ssh/transport.js';
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

  describe('the chain relay (relayBundleToHosts)', () => {
    const DIR = '/var/lib/ustart/relay';
    let bundleBytes: number;
    beforeAll(() => {
      bundleBytes = report.manifest!.entries.reduce((n, e) => n + e.size, 0);
    });
    const clear = () =>
      Promise.all(lab.hosts.map((h) => lab.exec(h, `rm -rf ${DIR}; mkdir -p /var/lib/ustart`)));
    const targets = () => lab.hosts.map((h) => lab.target(h.index));
    /** RELAY's event `what` in a host's relay log: its time, and what follows it. */
    const event = (r: RelayedBundle, what: string) =>
      r.log.map((l) => relayEvent(l)).find((e) => e?.what === what);
    /** Every listener of the relay is gone (its port refuses) and no process of it is left. */
    const nothingLeft = async (relayed: readonly { host: string; log: string[] }[]) => {
      for (const r of relayed) {
        const at = lab.hosts.find((h) => h.name === r.host)!;
        for (const line of r.log) {
          const e = relayEvent(line);
          if (e?.what === 'listening') {
            expect(await dial(lab.target(at.index).address, Number(e.rest))).toBe('ECONNREFUSED');
          }
        }
      }
      // The lab shares one PID namespace: the pattern names this test's folder only.
      const left = await lab.exec(
        0,
        `n=0; while pgrep -f 'ustart/rela[y]' >/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done; pgrep -af 'ustart/rela[y]' || true`,
      );
      expect(left.stdout.trim()).toBe('');
    };
    const checked = async () => {
      const first = await listing(0, DIR);
      expect(first).toContain('755 bin/kubeadm\n');
      for (const h of lab.hosts) expect(await listing(h.index, DIR)).toBe(first);
      const big = report.manifest!.entries.find((e) => e.path === 'files/big.bin')!;
      for (const h of lab.hosts) {
        expect((await lab.exec(h, `sha256sum ${DIR}/files/big.bin`)).stdout).toContain(big.sha256);
      }
    };

    it(
      "carries the bundle across this machine's link once, and the hosts receive while the first still does",
      { timeout: 120_000 },
      async () => {
        await clear();
        const counting = new CountingTransport(transport);
        const relayed = await relayBundleToHosts(counting, targets(), report, { remoteDir: DIR });
        const names = lab.hosts.map((h) => h.name);
        expect(relayed.map((r) => r.from)).toEqual([FROM_HERE, names[0], names[1]]);
        // One bundle in all from here: the first host's stream; the others only their lists.
        expect(counting.sentTo(names[0]!)).toBeGreaterThanOrEqual(bundleBytes);
        for (const h of names.slice(1)) expect(counting.sentTo(h)).toBeLessThan(bundleBytes / 20);
        expect(counting.total()).toBeLessThan(bundleBytes * 1.1);
        await checked();
        // Overlap, from the receivers' own logs: the last host got its first byte before
        // the first host had read the end of the stream.
        const firstEnd = event(relayed[0]!, 'end-of-stream');
        expect(firstEnd, relayed[0]!.log.join('\n')).toBeDefined();
        for (const r of relayed.slice(1)) {
          const firstByte = event(r, 'first-byte');
          expect(firstByte, r.log.join('\n')).toBeDefined();
          expect(firstByte!.at).toBeLessThan(firstEnd!.at);
          expect(event(r, 'connected')!.rest).toBe(lab.target(names.indexOf(r.from)).address);
        }
        expect(event(relayed[1]!, 'next-connected')).toBeDefined();
        await nothingLeft(relayed);
      },
    );

    it(
      'a host killed mid-chain: the hosts after it are pushed to from here and end checked',
      { timeout: 120_000 },
      async () => {
        await clear();
        // The stream from here pauses after 2 MiB until host 1 is killed: mid-chain for sure.
        const gated = new GatedTransport(transport, lab.hosts[0]!.name, 2 * 1024 * 1024);
        const logs = new Map<string, string[]>();
        let killing: Promise<unknown> | undefined;
        let relayed: RelayedBundle[] = [];
        try {
          relayed = await relayBundleToHosts(gated, targets(), report, {
            remoteDir: DIR,
            onLog: (host, line) => {
              logs.set(host, [...(logs.get(host) ?? []), line]);
              // Host 2 receives: every SSH session of host 1 ends at once (its sshd's children
              // only: the lab shares one PID namespace).
              if (host === lab.hosts[2]!.name && relayEvent(line)?.what === 'first-byte') {
                killing ??= lab
                  .exec(1, `pkill -KILL -P ${lab.hosts[1]!.pid} || true`)
                  .finally(() => gated.release());
              }
            },
          });
        } finally {
          gated.release();
          await killing;
        }
        expect(killing).toBeDefined();
        const [r0, r1, r2] = relayed;
        expect(r0!.from).toBe(FROM_HERE);
        expect(r1!.from).toBe(FROM_HERE);
        expect(r2!.from).toBe(FROM_HERE);
        // The first host kept receiving (the next one lost is logged, not fatal).
        expect(event(r0!, 'next-lost') ?? event(r0!, 'receiver-exit')).toBeDefined();
        expect(r0!.log.join('\n')).not.toContain('from this machine instead');
        for (const r of [r1!, r2!]) {
          expect(r.log.join('\n')).toContain(`pushing to ${r.host} from this machine instead`);
        }
        expect(r2!.log.join('\n')).toMatch(/did not get a checked bundle through the relay/);
        await checked();
        await nothingLeft(relayed);
      },
    );

    it(
      'a relay that sends damaged bytes is refused (nothing put in place), then pushed from here',
      { timeout: 120_000 },
      async () => {
        await clear();
        // Host 0's stream is held before its first byte; meanwhile a stream of host 1's
        // address (so the listener accepts it) reaches host 2: a damaged big.bin and a
        // check list that matches it. Host 2 checks against the list from this machine.
        const gated = new GatedTransport(transport, lab.hosts[0]!.name, 0);
        const [a1, a2] = [lab.target(1).address, lab.target(2).address];
        const tmp = `/tmp/ustart-relay-damaged-${process.pid}`;
        let sending: Promise<unknown> | undefined;
        let relayed: RelayedBundle[] = [];
        try {
          relayed = await relayBundleToHosts(gated, targets(), report, {
            remoteDir: DIR,
            onLog: (host, line) => {
              const e = relayEvent(line);
              if (host !== lab.hosts[2]!.name || e?.what !== 'listening') return;
              const send = `import socket, sys; s = socket.create_connection((${JSON.stringify(a2)}, ${Number(e.rest)}), source_address=(${JSON.stringify(a1)}, 0)); s.sendall(sys.stdin.buffer.read()); s.close()`;
              sending = lab
                .exec(
                  1,
                  `set -e; rm -rf ${tmp}; mkdir -p ${tmp}/files ${tmp}/.ustart; head -c 4096 /dev/zero > ${tmp}/files/big.bin; ` +
                    `(cd ${tmp} && sha256sum files/big.bin > .ustart/check); tar -C ${tmp} -cf - . | python3 -c '${send}'; rm -rf ${tmp}`,
                )
                .finally(() => gated.release());
            },
          });
        } finally {
          gated.release();
          await sending;
        }
        expect(sending).toBeDefined();
        const said = relayed[2]!.log.join('\n');
        expect(relayed[2]!.from, said).toBe(FROM_HERE);
        expect(said).toMatch(
          /does not match the signed manifest, nothing was put in place[^]*pushing to \S+ from this machine instead/,
        );
        // Host 1 could not pass its stream on (host 2's listener had taken its one connection).
        expect(relayed[1]!.from).toBe(lab.hosts[0]!.name);
        expect(event(relayed[1]!, 'next-unreachable')).toBeDefined();
        await checked();
        await nothingLeft(relayed);
      },
    );

    it('a cancelled relay leaves nothing running on any host', { timeout: 120_000 }, async () => {
      await clear();
      const gated = new GatedTransport(transport, lab.hosts[0]!.name, 2 * 1024 * 1024);
      const abort = new AbortController();
      const logs = new Map<string, string[]>(lab.hosts.map((h) => [h.name, []]));
      try {
        await expect(
          relayBundleToHosts(gated, targets(), report, {
            remoteDir: DIR,
            signal: abort.signal,
            onLog: (host, line) => {
              logs.get(host)!.push(line);
              if (host === lab.hosts[2]!.name && relayEvent(line)?.what === 'first-byte') {
                abort.abort();
              }
            },
          }),
        ).rejects.toThrow(/cancelled/);
      } finally {
        gated.release();
      }
      expect(logs.get(lab.hosts[2]!.name)!.join('\n')).toContain('first-byte');
      await nothingLeft([...logs].map(([host, log]) => ({ host, log })));
    });

    it(
      'a host whose listener cannot start is pushed to from here; the chain skips it',
      { timeout: 120_000 },
      async () => {
        await clear();
        // No python3 on host 1: /bin/false over the one its SSH sessions find (only in
        // host 1's own mount namespace).
        const c = await transport.connect(lab.target(1));
        let found = '';
        try {
          await c.exec('command -v python3', { onStdout: (b) => (found += Buffer.from(b)) });
        } finally {
          await c.close();
        }
        const python = found.trim();
        expect(python).toMatch(/^\//);
        const off = await lab.exec(1, `mount --bind /bin/false ${python}`);
        expect(off.code, off.stderr).toBe(0);
        let relayed: RelayedBundle[] = [];
        try {
          relayed = await relayBundleToHosts(transport, targets(), report, { remoteDir: DIR });
        } finally {
          await lab.exec(1, `umount ${python}`);
        }
        const names = lab.hosts.map((h) => h.name);
        expect(
          relayed.map((r) => r.from),
          relayed[1]!.log.join('\n'),
        ).toEqual([FROM_HERE, FROM_HERE, names[0]]);
        expect(relayed[1]!.log.join('\n')).toMatch(
          /could not start the relay's listener on [^]*pushing to \S+ from this machine instead/,
        );
        expect(event(relayed[2]!, 'connected')!.rest).toBe(lab.target(0).address);
        await checked();
        await nothingLeft(relayed);
      },
    );

    it(
      'a firewall between two hosts: the host behind it is pushed to from here, saying why',
      { timeout: 120_000 },
      async () => {
        await clear();
        const h = lab.hosts[2]!;
        const table = `ustart_relay_test_${process.pid}`;
        const r = await lab.exec(
          h,
          `nft add table inet ${table} && nft add chain inet ${table} in '{ type filter hook input priority 0 ; }' && nft add rule inet ${table} in tcp dport != ${h.port} reject with tcp reset`,
        );
        expect(r.code, r.stderr).toBe(0);
        let relayed: RelayedBundle[] = [];
        try {
          relayed = await relayBundleToHosts(transport, targets(), report, { remoteDir: DIR });
        } finally {
          await lab.exec(h, `nft delete table inet ${table} || true`);
        }
        const names = lab.hosts.map((x) => x.name);
        expect(relayed.map((x) => x.from)).toEqual([FROM_HERE, names[0], FROM_HERE]);
        expect(event(relayed[1]!, 'next-unreachable')).toBeDefined();
        expect(relayed[2]!.log.join('\n')).toMatch(
          /its upstream host never connected[^]*pushing to \S+ from this machine instead/,
        );
        await checked();
        await nothingLeft(relayed);
      },
    );
  });

  describe("the run's delivery step (umetal.bundle)", () => {
    const DIR = '/var/lib/ustart/bundle';
    let runsDir: string;
    let counting: CountingTransport;
    let bundleBytes: number;
    let manifestSha: string;
    const names = () => lab.hosts.map((h) => h.name);

    beforeAll(async () => {
      runsDir = await mkdtemp(join(tmpdir(), 'ustart-fanout-step-'));
      counting = new CountingTransport(transport);
      bundleBytes = report.manifest!.entries.reduce((n, e) => n + e.size, 0);
      manifestSha = createHash('sha256').update(report.manifestBytes!).digest('hex');
    });
    afterAll(async () => {
      if (runsDir) await rm(runsDir, { recursive: true, force: true });
    });
    const clear = () =>
      Promise.all(lab.hosts.map((h) => lab.exec(h, `rm -rf ${DIR}; mkdir -p /var/lib/ustart`)));
    const step = (): StepSpec => ({
      ...bundleDeliveryStep(report, { phase: 'umetal', targets: 'all' }),
      retries: 0,
    });

    /** Runs the step through the engine on every lab host; the logs by host. */
    async function runStep(spec: StepSpec, signal?: AbortSignal, through?: Transport) {
      const hosts = new Map(lab.hosts.map((h) => [h.name, lab.target(h.index)]));
      const engine = new RunEngine({
        transport: through ?? counting,
        runsDir,
        steps: [spec],
        hosts,
        resolveTargets: () => [...hosts.keys()],
        clusterLock: false,
        retryDelayMs: () => 0,
        ...(signal ? { signal } : {}),
      });
      const result = await engine.run();
      const logs = new Map<string, string>();
      for (const h of names()) {
        logs.set(
          h,
          await readFile(logPath(result.runDir, BUNDLE_STEP_ID, h), 'utf8').catch(() => ''),
        );
      }
      return { result, logs };
    }

    /** The source's server, named in a fetching host's log, no longer accepts connections. */
    const serverGone = async (log: string) => {
      const m = /fetching the bundle from \S+ \(http:\/\/([^:/]+):(\d+)\)/.exec(log);
      expect(m, log).not.toBeNull();
      const refused = await new Promise<string>((resolve) => {
        const socket = connect({ host: m![1]!, port: Number(m![2]) });
        socket.once('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      });
      expect(refused).toBe('ECONNREFUSED');
    };

    const marked = async (i: number) =>
      (await lab.exec(i, `cat ${DIR}/${BUNDLE_VERIFIED_MARKER}`)).stdout.trim();

    it("carries the bundle across this machine's link once; the others fetch from the first", async () => {
      await clear();
      counting.reset();
      const { result, logs } = await runStep(step());
      expect(result.state, [...logs.values()].join('\n')).toBe('succeeded');
      expect(result.counts.succeeded).toBe(lab.hosts.length);
      // One host got the bundle's bytes from here; the others only their lists (a few KB).
      const sent = names().map((h) => counting.sentTo(h));
      const source = names()[sent.indexOf(Math.max(...sent))]!;
      expect(Math.max(...sent)).toBeGreaterThanOrEqual(bundleBytes);
      for (const h of names().filter((n) => n !== source)) {
        expect(counting.sentTo(h), h).toBeLessThan(bundleBytes / 20);
        expect(logs.get(h)).toContain(`fetching the bundle from ${source} (http://`);
        expect(logs.get(h)).toContain(
          `the bundle is on ${h}, every file checked there (from ${source}, over the site network)`,
        );
      }
      expect(counting.total()).toBeLessThan(bundleBytes * 1.1);
      expect(logs.get(source)).toContain(
        `the bundle is on ${source}, every file checked there (from this machine)`,
      );
      const first = await listing(0, DIR);
      expect(first).toContain('755 bin/kubeadm\n');
      for (const h of lab.hosts) {
        expect(await listing(h.index, DIR)).toBe(first);
        expect(await marked(h.index)).toBe(manifestSha);
      }
      await serverGone(logs.get(names().find((n) => n !== source)!)!);

      // A second run: every host holds the bundle, checked; nothing is sent.
      counting.reset();
      const again = await runStep(step());
      expect(again.result.counts.skipped).toBe(lab.hosts.length);
      expect(counting.total()).toBeLessThan(64 * 1024);
    });

    it('with the chain relay (opt-in): one bundle from here, the others relayed, every host checked', async () => {
      await clear();
      counting.reset();
      const { result, logs } = await runStep({
        ...bundleDeliveryStep(
          report,
          { phase: 'umetal', targets: 'all' },
          { relay: { gatherMs: 1500 } },
        ),
        retries: 0,
      });
      expect(result.state, [...logs.values()].join('\n')).toBe('succeeded');
      const sent = names().map((h) => counting.sentTo(h));
      const source = names()[sent.indexOf(Math.max(...sent))]!;
      expect(counting.total()).toBeLessThan(bundleBytes * 1.1);
      expect(logs.get(source)).toContain('every file checked there (from this machine)');
      for (const h of names().filter((n) => n !== source)) {
        const log = logs.get(h)!;
        expect(log).toContain(`${h} joins the chain relay`);
        expect(log).toMatch(/ustart-relay \S+ first-byte/);
        expect(log).toMatch(
          new RegExp(
            `the bundle is on ${h}, every file checked there \\(from \\S+, relayed over the site network\\)`,
          ),
        );
      }
      const first = await listing(0, DIR);
      for (const h of lab.hosts) {
        expect(await listing(h.index, DIR)).toBe(first);
        expect(await marked(h.index)).toBe(manifestSha);
      }
      const left = await lab.exec(0, `pgrep -af 'ustart-relay|RELA[Y]' | grep -v pgrep || true`);
      expect(left.stdout.trim()).toBe('');
    });

    it('with the chain relay (opt-in): a run cancelled mid-stream leaves nothing running', async () => {
      await clear();
      // Every stream from here holds after 2 MiB until the run is cancelled: mid-stream.
      const gated = new GatedTransport(transport, undefined, 2 * 1024 * 1024);
      const abort = new AbortController();
      const spec: StepSpec = {
        ...bundleDeliveryStep(
          report,
          { phase: 'umetal', targets: 'all' },
          { relay: { gatherMs: 1500 } },
        ),
        retries: 0,
      };
      const local = spec.local!;
      let firstByte = '';
      try {
        const { result, logs } = await runStep(
          {
            ...spec,
            local: (context) =>
              local({
                ...context,
                log: (line) => {
                  context.log(line);
                  if (!firstByte && / first-byte$/.test(line)) {
                    firstByte = line;
                    abort.abort();
                  }
                },
              }),
          },
          abort.signal,
          gated,
        );
        expect(firstByte).not.toBe('');
        expect(result.state).toBe('cancelled');
        const listening = [...logs].flatMap(([h, log]) =>
          [...log.matchAll(/ustart-relay \S+ listening (\d+)/g)].map((m) => ({
            address: lab.target(names().indexOf(h)).address,
            port: Number(m[1]),
          })),
        );
        expect(listening.length).toBe(lab.hosts.length - 1);
        // The relay ends after the engine has: wait (bounded) for its processes to go.
        const left = await lab.exec(
          0,
          `n=0; while pgrep -f 'ustart/bundl[e]' >/dev/null && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done; pgrep -af 'ustart/bundl[e]' || true`,
        );
        expect(left.stdout.trim()).toBe('');
        for (const l of listening) expect(await dial(l.address, l.port)).toBe('ECONNREFUSED');
      } finally {
        gated.release();
      }
    });

    it(
      'with the chain relay (opt-in): a firewall makes the hosts behind it take the bundle from here, saying why',
      { timeout: 120_000 },
      async () => {
        await clear();
        counting.reset();
        // Every host rejects TCP to any port but its sshd's: no relay connection gets through
        // (the first host's connect to the next gives up after its 10 s limit).
        const table = `ustart_relay_step_${process.pid}`;
        for (const h of lab.hosts) {
          const r = await lab.exec(
            h,
            `nft add table inet ${table} && nft add chain inet ${table} in '{ type filter hook input priority 0 ; }' && nft add rule inet ${table} in tcp dport != ${h.port} reject with tcp reset`,
          );
          expect(r.code, r.stderr).toBe(0);
        }
        try {
          const { result, logs } = await runStep({
            ...bundleDeliveryStep(
              report,
              { phase: 'umetal', targets: 'all' },
              { relay: { gatherMs: 1500 } },
            ),
            retries: 0,
          });
          expect(result.state, [...logs.values()].join('\n')).toBe('succeeded');
          const source = names().find((h) => /next-unreachable/.test(logs.get(h)!));
          expect(source, [...logs.values()].join('\n')).toBeDefined();
          for (const h of names().filter((n) => n !== source)) {
            const log = logs.get(h)!;
            expect(log).toContain('its upstream host never connected');
            expect(log).toContain(`pushing to ${h} from this machine instead`);
            expect(log).toContain(
              `the bundle is on ${h}, every file checked there (from this machine)`,
            );
          }
          for (const h of lab.hosts) expect(await marked(h.index)).toBe(manifestSha);
        } finally {
          for (const h of lab.hosts) await lab.exec(h, `nft delete table inet ${table} || true`);
        }
      },
    );

    it("stops the source's web server when the run is cancelled during the fetch", async () => {
      await clear();
      const abort = new AbortController();
      const spec = step();
      const local = spec.local!;
      let fetching = '';
      const { result } = await runStep(
        {
          ...spec,
          // The step's own function; its log is watched to cancel as a host starts fetching.
          local: (context) =>
            local({
              ...context,
              log: (line) => {
                context.log(line);
                if (!fetching && line.includes('fetching the bundle from')) {
                  fetching = line;
                  abort.abort();
                }
              },
            }),
        },
        abort.signal,
      );
      expect(fetching).not.toBe('');
      expect(result.state).toBe('cancelled');
      await serverGone(fetching);
    });

    it(
      "pushes from here when a firewall hides the source's web server, and says so",
      { timeout: 120_000 },
      async () => {
        await clear();
        counting.reset();
        // Every host drops TCP to any port but its sshd's: the fetching hosts' curl cannot
        // connect to whichever host became the source (a DROP, so it waits for its timeout).
        const table = `ustart_fanout_test_${process.pid}`;
        for (const h of lab.hosts) {
          const r = await lab.exec(
            h,
            `nft add table inet ${table} && nft add chain inet ${table} in '{ type filter hook input priority 0 ; }' && nft add rule inet ${table} in tcp dport != ${h.port} drop`,
          );
          expect(r.code, r.stderr).toBe(0);
        }
        let fetchLogs: string[] = [];
        try {
          const { result, logs } = await runStep(step());
          expect(result.state, [...logs.values()].join('\n')).toBe('succeeded');
          const source = names().find((h) => !logs.get(h)!.includes('fetching the bundle from'))!;
          fetchLogs = names()
            .filter((n) => n !== source)
            .map((h) => logs.get(h)!);
          for (const h of names().filter((n) => n !== source)) {
            const log = logs.get(h)!;
            expect(log).toMatch(new RegExp(`${h} could not fetch the bundle from ${source}`));
            expect(log).toContain(`pushing to ${h} from this machine instead`);
            expect(log).toContain(
              `the bundle is on ${h}, every file checked there (from this machine)`,
            );
            expect(counting.sentTo(h)).toBeGreaterThanOrEqual(bundleBytes);
          }
          for (const h of lab.hosts) expect(await marked(h.index)).toBe(manifestSha);
        } finally {
          for (const h of lab.hosts) await lab.exec(h, `nft delete table inet ${table} || true`);
        }
        // With the firewall gone, nothing answers on the port the source served at.
        expect(fetchLogs).toHaveLength(lab.hosts.length - 1);
        for (const log of fetchLogs) await serverGone(log);
      },
    );

    it(
      'a failed source makes the others push from here; a retried host fetches again',
      { timeout: 120_000 },
      async () => {
        await clear();
        counting.reset();
        const spec = step();
        const local = spec.local!;
        // The source's receiver cannot make its staging folder: its push fails.
        await lab.exec(0, `mkdir -p ${DIR} && touch ${DIR}/.incoming`);
        const opened: HostConnection[] = [];
        const call = async (i: number, onLine?: (line: string) => void) => {
          const target = lab.target(i);
          const connection = await counting.connect(target);
          opened.push(connection);
          const lines: string[] = [];
          const done = local({
            host: target.name,
            target,
            transport: counting,
            connection,
            signal: new AbortController().signal,
            log: (line) => {
              lines.push(line);
              onLine?.(line);
            },
          });
          return { done, lines };
        };
        try {
          // Host 0 starts first and becomes the source; the others start once it pushes.
          let pushing: () => void = () => undefined;
          const started = new Promise<void>((r) => (pushing = r));
          const source = await call(0, (line) => {
            if (line.includes('from this machine')) pushing();
          });
          await started;
          const others = await Promise.all([call(1), call(2)]);
          await expect(source.done).rejects.toThrow(/could not put the bundle in place|staging/);
          for (const [k, o] of others.entries()) {
            await o.done;
            const name = lab.hosts[k + 1]!.name;
            expect(o.lines.join('\n')).toContain(
              `the first host, ${lab.hosts[0]!.name}, did not receive the bundle; pushing to ${name} from this machine instead`,
            );
            expect(counting.sentTo(name)).toBeGreaterThanOrEqual(bundleBytes);
            expect(await marked(k + 1)).toBe(manifestSha);
          }

          // The engine retries the source: with its folder fixed, it is the source again.
          await lab.exec(0, `rm -f ${DIR}/.incoming`);
          const retried = await call(0);
          await retried.done;
          expect(retried.lines.join('\n')).toContain(
            'every file checked there (from this machine)',
          );
          expect(await marked(0)).toBe(manifestSha);

          // A host retried after the source holds the bundle fetches from it (the server is
          // started again for it, and stopped when it is done).
          await lab.exec(1, `rm -rf ${DIR}`);
          counting.reset();
          const fetched = await call(1);
          await fetched.done;
          const log = fetched.lines.join('\n');
          expect(log).toContain(
            `every file checked there (from ${lab.hosts[0]!.name}, over the site network)`,
          );
          expect(counting.sentTo(lab.hosts[1]!.name)).toBeLessThan(bundleBytes / 20);
          expect(await listing(1, DIR)).toBe(await listing(0, DIR));
          await serverGone(log);

          // A file damaged on the source: the fetching host refuses it, then gets the bundle
          // from here.
          await lab.exec(
            0,
            `printf 'X' | dd of=${DIR}/files/big.bin bs=1 seek=4096 conv=notrunc status=none`,
          );
          await lab.exec(2, `rm -rf ${DIR}`);
          counting.reset();
          const refused = await call(2);
          await refused.done;
          const said = refused.lines.join('\n');
          expect(said).toMatch(/does not match its manifest[^]*files\/big.bin: FAILED/);
          expect(said).toContain(`pushing to ${lab.hosts[2]!.name} from this machine instead`);
          expect(said).toContain('every file checked there (from this machine)');
          expect(counting.sentTo(lab.hosts[2]!.name)).toBeGreaterThanOrEqual(bundleBytes);
          expect(await marked(2)).toBe(manifestSha);
          const big = report.manifest!.entries.find((e) => e.path === 'files/big.bin')!;
          expect((await lab.exec(2, `sha256sum ${DIR}/files/big.bin`)).stdout).toContain(
            big.sha256,
          );
        } finally {
          await lab.exec(0, `rm -f ${DIR}/.incoming`);
          await Promise.all(opened.map((c) => c.close().catch(() => undefined)));
        }
      },
    );
  });
});

/**
 * A transport that counts the bytes this machine sends to each host (command stdin and
 * uploads): what crosses the laptop's link.
 */
class CountingTransport implements Transport {
  private readonly sent = new Map<string, number>();
  constructor(private readonly inner: Transport) {}

  reset(): void {
    this.sent.clear();
  }
  sentTo(host: string): number {
    return this.sent.get(host) ?? 0;
  }
  total(): number {
    return [...this.sent.values()].reduce((a, b) => a + b, 0);
  }
  private add(host: string, n: number): void {
    this.sent.set(host, this.sentTo(host) + n);
  }

  async connect(target: HostTarget, options?: { signal?: AbortSignal }): Promise<HostConnection> {
    const c = await this.inner.connect(target, options);
    const add = (n: number) => this.add(target.name, n);
    return {
      target: c.target,
      closed: c.closed,
      close: () => c.close(),
      exec: (command: string, o?: ExecOptions) => {
        const stdin = o?.stdin;
        if (stdin === undefined) return c.exec(command, o);
        if (typeof stdin === 'string') add(Buffer.byteLength(stdin));
        else if (stdin instanceof Uint8Array) add(stdin.length);
        return c.exec(command, {
          ...o,
          stdin:
            typeof stdin === 'string' || stdin instanceof Uint8Array
              ? stdin
              : countChunks(stdin, add),
        });
      },
      upload: async (source: string | Uint8Array, remotePath: string, o?: UploadOptions) => {
        let last = 0;
        await c.upload(source, remotePath, {
          ...o,
          onProgress: (done, of) => {
            add(done - last);
            last = done;
            o?.onProgress?.(done, of);
          },
        });
      },
    };
  }
  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}

async function* countChunks(
  chunks: AsyncIterable<Uint8Array>,
  add: (n: number) => void,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of chunks) {
    add(chunk.length);
    yield chunk;
  }
}

/** `ECONNREFUSED` when nothing listens at host:port, else what happened. */
function dial(host: string, port: number): Promise<string> {
  return new Promise<string>((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

/**
 * A transport whose command stdin to `host` stops after `after` bytes until `release`: a
 * test holds the stream from here at a point of its choosing.
 */
class GatedTransport implements Transport {
  private readonly gate: Promise<void>;
  release: () => void = () => undefined;
  constructor(
    private readonly inner: Transport,
    /** Undefined: every host. */
    private readonly host: string | undefined,
    private readonly after: number,
  ) {
    this.gate = new Promise<void>((r) => (this.release = r));
  }

  async connect(target: HostTarget, options?: { signal?: AbortSignal }): Promise<HostConnection> {
    const c = await this.inner.connect(target, options);
    if (this.host !== undefined && target.name !== this.host) return c;
    const { after, gate } = this;
    async function* held(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
      let sent = 0;
      for await (const chunk of chunks) {
        if (sent >= after) await gate;
        sent += chunk.length;
        yield chunk;
      }
    }
    return {
      target: c.target,
      closed: c.closed,
      close: () => c.close(),
      upload: (source, remotePath, o) => c.upload(source, remotePath, o),
      exec: (command: string, o?: ExecOptions) =>
        c.exec(
          command,
          o?.stdin === undefined || typeof o.stdin === 'string' || o.stdin instanceof Uint8Array
            ? o
            : { ...o, stdin: held(o.stdin) },
        ),
    };
  }
  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}
