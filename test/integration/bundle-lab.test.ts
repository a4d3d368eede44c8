/**
 * The offline bundle on real air-gapped hosts (lab: sshd in network namespaces with no
 * route out): a real bundle of Debian's containerd and runc with their dependencies is
 * built here from this machine's mirror, pushed to 3 lab hosts, apt there is pointed at the
 * bundle only, and containerd installed from it runs. A push whose link is cut mid-file
 * resumes and ends verified. containerd is not installed on this machine (checked below),
 * so the lab hosts, whose root is an overlay of this machine's, start without it. An OCI
 * image archive written here (no registry, no docker) travels in the same bundle and is
 * imported into a containerd daemon started on a host from the installed package.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  configureHostApt,
  createBundle,
  importImages,
  installFromBundle,
  pushBundle,
  restoreHostApt,
  verifyBundle,
  type BundleEvent,
  type VerifyReport,
} from '../../src/bundle/index.js';
import { KnownHosts } from '../../src/ssh/known-hosts.js';
import { Ssh2Transport } from '../../src/ssh/ssh2-transport.js';
import type { HostConnection } from '../../src/ssh/transport.js';
import { createLab, type Lab } from '../lab/lab.js';
import { labAvailable } from '../lab/require-lab.js';
import { runCommand } from '../lab/run.js';
import { bundleFixture, CREATED_AT, type BundleFixture } from './bundle-fixture.js';
import { writeOciImage, type OciImage } from './oci-image.js';
import { collector } from './ssh-helpers.js';

const available = labAvailable();
const BIG = 128 * 1024 * 1024;
/** containerd's own folders on the host: /tmp is a tmpfs there, so the overlayfs snapshotter works. */
const CONTAINERD_DIR = '/tmp/ustart-containerd';
const CONTAINERD_SOCKET = `${CONTAINERD_DIR}/containerd.sock`;

describe.skipIf(!available)('offline bundle on air-gapped lab hosts', () => {
  let fx: BundleFixture;
  let lab: Lab;
  let transport: Ssh2Transport;
  let report: VerifyReport;
  let image: OciImage;
  let corruptImage: OciImage;

  beforeAll(async () => {
    const installedHere = await runCommand('dpkg-query', ['-W', '-f=${Status}', 'containerd']);
    expect(installedHere.stdout).not.toContain('install ok installed');
    fx = await bundleFixture('debian-12');
    const big = join(fx.dir, 'big.bin');
    await writeFile(big, randomBytes(BIG));
    const images = join(fx.dir, 'images');
    await mkdir(images);
    image = await writeOciImage(join(images, 'hello.tar'), {
      name: 'docker.io/ustart/hello:1.0',
      files: { '/hello.txt': 'hello from the bundle\n' },
    });
    corruptImage = await writeOciImage(join(images, 'corrupt.tar'), {
      name: 'docker.io/ustart/corrupt:1.0',
      files: { '/hello.txt': 'never imported\n' },
      corruptLayer: true,
    });
    // Two pinned executables: one small enough to travel in a batch, one sent on its own.
    const tools = join(fx.dir, 'tools');
    await mkdir(tools);
    await writeFile(join(tools, 'small-tool'), '#!/bin/sh\necho small tool runs\n');
    await writeFile(
      join(tools, 'large-tool'),
      `#!/bin/sh\necho large tool runs\nexit 0\n#${'x'.repeat(6 * 1024 * 1024)}\n`,
    );
    const out = join(fx.dir, 'bundle');
    await createBundle({
      plan: fx.plan,
      out,
      privateKey: fx.privateKey,
      packages: ['containerd', 'runc'],
      add: [
        { kind: 'file', path: big },
        { kind: 'image', path: join(images, 'hello.tar') },
        { kind: 'image', path: join(images, 'corrupt.tar') },
        { kind: 'binary', path: join(tools, 'small-tool') },
        { kind: 'binary', path: join(tools, 'large-tool') },
      ],
      runbookDir: fx.inputs.runbook,
      createdAt: CREATED_AT,
    });
    report = await verifyBundle(out, fx.publicKey);
    expect(report.problems).toEqual([]);
    lab = await createLab({ hosts: 3 });
    transport = new Ssh2Transport({
      knownHosts: new KnownHosts(lab.knownHostsPath),
      agentSocket: null,
      identityFiles: [lab.clientKeyPath],
      keepaliveIntervalMs: 500,
      keepaliveCountMax: 3,
    });
  }, 300_000);
  afterAll(async () => {
    // containerd outlives the SSH session that started it; it is stopped through the lab.
    await lab?.exec(0, stopContainerdScript());
    await transport?.dispose();
    await lab?.dispose();
    await fx?.dispose();
  });

  async function sh(
    connection: HostConnection,
    command: string,
  ): Promise<{ code: number; out: string }> {
    const out = collector();
    const outcome = await connection.exec(command, { onStdout: out.push, onStderr: out.push });
    return { code: outcome.kind === 'exited' ? outcome.code : -1, out: out.text() };
  }

  it(
    'pushes to 3 hosts, serves apt from the bundle only, and installs a containerd that runs',
    { timeout: 600_000 },
    async () => {
      await Promise.all(
        lab.hosts.map(async (_, i) => {
          const pushed = await pushBundle(transport, lab.target(i), report, { kinds: ['deb'] });
          expect(pushed.entries.some((e) => e.path.startsWith('apt/pool/containerd_'))).toBe(true);
          const connection = await transport.connect(lab.target(i));
          try {
            // Truly air-gapped: the host cannot reach the mirror this machine uses.
            expect((await sh(connection, 'ip route show default')).out.trim()).toBe('');
            expect((await sh(connection, 'command -v containerd')).code).not.toBe(0);
            await configureHostApt(connection);
            const sources = await sh(
              connection,
              'cat /etc/apt/sources.list.d/*; ls /etc/apt/sources.list.d /var/lib/apt/lists',
            );
            expect(sources.out).toContain('URIs: file:/var/lib/ustart/bundle/apt');
            expect(sources.out).not.toMatch(/https?:\/\/|deb\.debian/);
            await installFromBundle(connection, ['containerd']);
            const version = await sh(connection, 'containerd --version && runc --version');
            expect(version.code).toBe(0);
            expect(version.out).toMatch(/^containerd .*1\.6\.\d+/m);
            expect(version.out).toMatch(/^runc version /m);
            await restoreHostApt(connection);
            expect((await sh(connection, 'ls /etc/apt/sources.list.d')).out).toContain(
              'debian.sources',
            );
          } finally {
            await connection.close();
          }
        }),
      );
    },
  );

  it(
    'imports the OCI image from the bundle into containerd on a host, and refuses a corrupted one',
    { timeout: 180_000 },
    async () => {
      const pushed = await pushBundle(transport, lab.target(0), report, { kinds: ['image'] });
      expect(pushed.entries.map((e) => e.path)).toEqual(
        expect.arrayContaining(['images/hello.tar', 'images/corrupt.tar']),
      );
      const connection = await transport.connect(lab.target(0));
      let daemon: Promise<unknown> | undefined;
      try {
        daemon = (await startContainerd(connection)).ended;
        const only = (path: string) => ({
          ...pushed,
          entries: pushed.entries.filter((e) => e.path === path),
        });
        const imported = await importImages(connection, only('images/hello.tar'), {
          address: CONTAINERD_SOCKET,
        });
        expect(imported).toEqual(['images/hello.tar']);
        await expect(
          importImages(connection, only('images/corrupt.tar'), { address: CONTAINERD_SOCKET }),
        ).rejects.toThrow(
          /could not import images\/corrupt\.tar into containerd on [^]*blobs\/sha256\/[0-9a-f]{64}: its content does not match its sha256 name/,
        );
        const listed = await sh(
          connection,
          `ctr --address ${CONTAINERD_SOCKET} -n k8s.io images ls`,
        );
        expect(listed.code, listed.out).toBe(0);
        const rows = listed.out.split('\n').filter((l) => l.startsWith('docker.io/'));
        expect(rows).toEqual([expect.stringContaining(image.manifestDigest)]);
        expect(rows[0]?.split(/\s+/)[0]).toBe(image.name);
        expect(listed.out).not.toContain(corruptImage.name);
        // Unpacked too: the layer's file is in the image's snapshot.
        const mounted = await sh(
          connection,
          [
            `ctr --address ${CONTAINERD_SOCKET} -n k8s.io images mount ${image.name} ${CONTAINERD_DIR}/mnt >/dev/null`,
            `cat ${CONTAINERD_DIR}/mnt/hello.txt`,
            `ctr --address ${CONTAINERD_SOCKET} -n k8s.io images unmount ${CONTAINERD_DIR}/mnt >/dev/null`,
          ].join(' && '),
        );
        expect(mounted).toEqual({ code: 0, out: 'hello from the bundle\n' });
      } finally {
        await lab.exec(0, stopContainerdScript());
        await daemon;
        await connection.close();
      }
    },
  );

  /**
   * Starts containerd on the host in the foreground of its own SSH session (stderr is its
   * log) and resolves once it has booted, with the session's end (a
   * promise in an object, so awaiting the start does not await the end). Its state and content live
   * under CONTAINERD_DIR; the CRI plugin, which wants cgroups and a kubelet, is disabled.
   */
  async function startContainerd(connection: HostConnection): Promise<{ ended: Promise<unknown> }> {
    const config = [
      'version = 2',
      `root = "${CONTAINERD_DIR}/root"`,
      `state = "${CONTAINERD_DIR}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${CONTAINERD_SOCKET}"`,
      '',
    ].join('\n');
    const log = collector();
    let onBooted!: () => void;
    const booted = new Promise<void>((resolve) => (onBooted = resolve));
    const session = connection.exec(
      `mkdir -p ${CONTAINERD_DIR}/mnt && cat > ${CONTAINERD_DIR}/config.toml && echo $$ > ${CONTAINERD_DIR}/pid && exec containerd --config ${CONTAINERD_DIR}/config.toml`,
      {
        stdin: config,
        onStdout: log.push,
        onStderr: (c) => {
          log.push(c);
          if (log.text().includes('containerd successfully booted')) onBooted();
        },
      },
    );
    const ended = session.then((outcome) => {
      throw new Error(
        `containerd ended before it booted (${JSON.stringify(outcome)}):\n${log.text()}`,
      );
    });
    await Promise.race([booted, ended]);
    ended.catch(() => undefined);
    return { ended: session };
  }

  it('refuses to push a bundle that did not verify', async () => {
    const bad: VerifyReport = {
      ...report,
      ok: false,
      problems: [{ kind: 'wrong-digest', entry: 'x', message: 'x: altered' }],
    };
    await expect(pushBundle(transport, lab.target(0), bad)).rejects.toThrow(
      /did not verify.*nothing was pushed/,
    );
  });

  it('pushes a tar bundle: unpacked and checked on the host, its binary executable', async () => {
    const archive = join(fx.dir, 'small.tar');
    await fx.build(archive);
    const tarReport = await verifyBundle(archive, fx.publicKey);
    expect(tarReport.problems).toEqual([]);
    const remoteDir = '/var/lib/ustart/bundle-tar';
    const pushed = await pushBundle(transport, lab.target(2), tarReport, { remoteDir });
    expect(pushed.entries.map((e) => e.path)).toContain('bin/kubeadm');
    const connection = await transport.connect(lab.target(2));
    try {
      const listed = await sh(
        connection,
        `cd ${remoteDir} && stat -c "%a %n" bin/kubeadm files/notes.txt && ls -A .incoming`,
      );
      expect(listed).toEqual({ code: 0, out: '755 bin/kubeadm\n644 files/notes.txt\n' });
    } finally {
      await connection.close();
    }
  });

  it(
    'resumes a push whose link was cut mid-file and ends with a verified file',
    { timeout: 180_000 },
    async () => {
      let cut = false;
      let retried = 0;
      let firstAfterRetry: number | undefined;
      const seen: BundleEvent[] = [];
      const pushed = await pushBundle(transport, lab.target(1), report, {
        remoteDir: '/var/lib/ustart/bundle-resume',
        onEvent: (event) => {
          seen.push(event);
          // Files travel several at once, so the big file's own bytes tell where it is.
          if (event.type === 'progressed' && event.item === 'files/big.bin') {
            const bigDone = event.itemDoneBytes ?? 0;
            if (!cut && bigDone > 8 * 1024 * 1024) {
              cut = true;
              void lab.cutLink(1);
            } else if (retried > 0 && firstAfterRetry === undefined) {
              firstAfterRetry = bigDone;
            }
          }
          if (event.type === 'retried') {
            retried++;
            void lab.restoreLink(1);
          }
        },
      });
      expect(cut).toBe(true);
      expect(retried).toBeGreaterThanOrEqual(1);
      expect(seen.filter((e) => e.type === 'retried').map((e) => e.item)).toContain(
        'files/big.bin',
      );
      // Progress stayed whole: every file arrived once, the bytes add up to the total.
      const started = seen.find((e) => e.type === 'phase-started');
      const finished = seen.filter((e) => e.type === 'item-finished').map((e) => e.item);
      expect(new Set(finished).size).toBe(finished.length);
      expect(finished.length).toBe(started?.type === 'phase-started' ? started.totalItems : -1);
      // Resumed, not restarted: the first progress after the retry starts past the cut.
      expect(firstAfterRetry).toBeGreaterThan(8 * 1024 * 1024);
      expect(pushed.entries.map((e) => e.path)).toContain('files/big.bin');
      const connection = await transport.connect(lab.target(1));
      try {
        const sum = await sh(
          connection,
          'sha256sum /var/lib/ustart/bundle-resume/files/big.bin; ls -a /var/lib/ustart/bundle-resume/files',
        );
        const entry = report.manifest!.entries.find((e) => e.path === 'files/big.bin')!;
        expect(sum.out).toContain(entry.sha256);
        expect(sum.out).not.toContain('.part');
        // Executables stay executable, whether they travelled in a batch or on their own.
        const tools = await sh(
          connection,
          'cd /var/lib/ustart/bundle-resume/bin && ./small-tool && ./large-tool && stat -c "%a %n" *',
        );
        expect(tools).toEqual({
          code: 0,
          out: 'small tool runs\nlarge tool runs\n755 large-tool\n755 small-tool\n',
        });
      } finally {
        await connection.close();
      }
    },
  );
});

/** Stops the containerd that startContainerd started on a host and removes its folders. */
function stopContainerdScript(): string {
  return [
    `pid=$(cat ${CONTAINERD_DIR}/pid 2>/dev/null) || exit 0`,
    'kill "$pid" 2>/dev/null',
    'timeout 30 tail --pid="$pid" -f /dev/null',
    `umount ${CONTAINERD_DIR}/mnt 2>/dev/null`,
    `grep -o " ${CONTAINERD_DIR}[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l`,
    `rm -rf ${CONTAINERD_DIR}`,
  ].join('\n');
}
