/**
 * Building bundles: keys, local files, pinned artifacts over HTTP (a real server on
 * 127.0.0.1), and the Debian packages of containerd and runc with their dependency
 * closure, resolved by apt from this machine's configured mirror into a private state.
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBundle, verifyBundle, type BundleEvent } from '../../src/bundle/index.js';
import { isUstartError } from '../../src/errors.js';
import { bufferOutput } from '../../src/cli/output.js';
import { main } from '../../src/cli/main.js';
import { bundleFixture, CREATED_AT, type BundleFixture } from './bundle-fixture.js';

const run = promisify(execFile);

let fx: BundleFixture;
beforeEach(async () => {
  fx = await bundleFixture();
});
afterEach(async () => {
  await fx.dispose();
});

describe('ustart bundle keygen', () => {
  it('writes a 0600 private key and a public key, and never prints the private key', async () => {
    const out = bufferOutput();
    const prefix = join(fx.dir, 'site-a');
    expect(await main(['node', 'ustart', 'bundle', 'keygen', '--out', prefix], out)).toBe(0);
    expect((await stat(`${prefix}.key`)).mode & 0o777).toBe(0o600);
    expect(await readFile(`${prefix}.key`, 'utf8')).toContain('BEGIN PRIVATE KEY');
    expect(await readFile(`${prefix}.pub`, 'utf8')).toContain('BEGIN PUBLIC KEY');
    const key = (await readFile(`${prefix}.key`, 'utf8')).split('\n')[1]!;
    expect(out.out + out.err).not.toContain(key);
    expect(out.out + out.err).not.toContain('PRIVATE KEY-----');
    expect(
      await main(['node', 'ustart', 'bundle', 'keygen', '--out', prefix], bufferOutput()),
    ).toBe(2);
  });
});

describe('ustart bundle create --only-added', () => {
  it('builds a signed tar from local files with no downloads, and it verifies', async () => {
    const planFile = join(fx.dir, 'plan.yaml');
    await writeFile(
      planFile,
      (await readFile('assets/samples/demo-stuttgart.yaml', 'utf8')).replace(
        'osRelease: ubuntu-24.04',
        'osRelease: debian-12',
      ),
    );
    const tar = join(fx.dir, 'cli.tar');
    const out = bufferOutput();
    const code = await main(
      [
        'node',
        'ustart',
        'bundle',
        'create',
        '--plan',
        planFile,
        '--out',
        tar,
        '--key',
        `${fx.keyPrefix}.key`,
        '--add',
        `binary=${fx.inputs.binary}`,
        '--add',
        `image=${fx.inputs.text}`,
        '--only-added',
        '--runbook',
        fx.inputs.runbook,
        '--created-at',
        '2026-01-01T00:00:00Z',
        '--json-events',
      ],
      out,
    );
    expect(out.err).toBe('');
    expect(code).toBe(0);
    const events = out.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; phase?: string });
    expect(events.filter((e) => e.type === 'phase-started').map((e) => e.phase)).toEqual([
      'hash',
      'write',
    ]);
    expect(events.at(-1)).toMatchObject({ type: 'bundle-created', entries: 3, signed: true });
    const verify = bufferOutput();
    expect(
      await main(
        ['node', 'ustart', 'bundle', 'verify', tar, '--key', `${fx.keyPrefix}.pub`],
        verify,
      ),
    ).toBe(0);
    expect(verify.out).toContain('verified');
  });

  it('refuses two inputs that would share a path, and an existing output', async () => {
    await expect(
      fx.build(join(fx.dir, 'dup'), {
        add: [
          { kind: 'file', path: fx.inputs.text },
          { kind: 'file', path: fx.inputs.text },
        ],
      }),
    ).rejects.toThrow(/two inputs would both be files\/notes\.txt/);
    await mkdir(join(fx.dir, 'taken'));
    await expect(fx.build(join(fx.dir, 'taken'))).rejects.toThrow(
      /already exists; nothing was written/,
    );
  });
});

describe('pinned artifacts', () => {
  let server: Server;
  let base: string;
  const body = randomBytes(200_000);
  beforeEach(async () => {
    server = createServer((req, res) => {
      if (req.url === '/helm') res.end(body);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('downloads and checks each against its sha256; a wrong pin adds nothing', async () => {
    const sha = createHash('sha256').update(body).digest('hex');
    const good = join(fx.dir, 'artifacts.yaml');
    await writeFile(
      good,
      `artifacts:\n  - kind: binary\n    name: helm\n    url: ${base}/helm\n    sha256: ${sha}\n`,
    );
    const built = await fx.build(join(fx.dir, 'with-artifacts'), {
      onlyAdded: false,
      packages: [],
      artifactsFile: good,
    });
    expect(built.manifest.entries.find((e) => e.path === 'bin/helm')).toMatchObject({
      size: 200_000,
      sha256: sha,
    });
    expect((await verifyBundle(join(fx.dir, 'with-artifacts'), fx.publicKey)).ok).toBe(true);

    const bad = join(fx.dir, 'bad.yaml');
    await writeFile(
      bad,
      `artifacts:\n  - kind: binary\n    name: helm\n    url: ${base}/helm\n    sha256: ${'ab'.repeat(32)}\n`,
    );
    const error = await fx
      .build(join(fx.dir, 'bad-bundle'), { onlyAdded: false, packages: [], artifactsFile: bad })
      .catch((e: unknown) => e);
    expect(isUstartError(error, 'BundleCorrupt'), String(error)).toBe(true);
    expect((error as Error).message).toContain('artifact binary "helm"');
    await expect(stat(join(fx.dir, 'bad-bundle'))).rejects.toThrow();
  });
});

describe("Debian packages from this machine's mirror", () => {
  it("resolves containerd and runc with their closure into a private apt state, leaving the machine's apt alone", async () => {
    const aptBefore = await snapshot('/etc/apt');
    const statusBefore = await readFile('/var/lib/dpkg/status');
    const out = join(fx.dir, 'debian');
    const events: BundleEvent[] = [];
    const built = await createBundle({
      plan: fx.plan,
      out,
      privateKey: fx.privateKey,
      packages: ['containerd', 'runc'],
      runbookDir: fx.inputs.runbook,
      createdAt: CREATED_AT,
      onEvent: (e) => events.push(e),
    });
    expect(await snapshot('/etc/apt')).toEqual(aptBefore);
    expect((await readFile('/var/lib/dpkg/status')).equals(statusBefore)).toBe(true);

    const debs = built.manifest.entries
      .filter((e) => e.kind === 'deb')
      .map((e) => e.path.split('/').pop()!.split('_')[0]);
    expect(debs).toEqual(expect.arrayContaining(['containerd', 'runc', 'libseccomp2', 'libc6']));
    expect(built.manifest.targetOs).toEqual(['debian-12']);
    expect(
      events.filter((e) => e.type === 'phase-started').map((e) => (e as { phase: string }).phase),
    ).toEqual(['resolve-packages', 'hash', 'write']);
    expect((await verifyBundle(out, fx.publicKey)).problems).toEqual([]);

    // The generated index lists every deb with the digest the manifest holds.
    const packages = await readFile(join(out, 'apt', 'Packages'), 'utf8');
    for (const entry of built.manifest.entries.filter((e) => e.kind === 'deb')) {
      expect(packages).toContain(
        `Filename: ${entry.path.slice('apt/'.length)}\nSize: ${entry.size}\nSHA256: ${entry.sha256}\n`,
      );
    }

    // apt itself accepts the repository and finds the whole closure for a bare host in it.
    const state = join(fx.dir, 'apt-check');
    await mkdir(join(state, 'lists', 'partial'), { recursive: true });
    await mkdir(join(state, 'parts'), { recursive: true });
    await writeFile(join(state, 'status'), '');
    await writeFile(
      join(state, 'parts', 'b.sources'),
      `Types: deb\nURIs: file:${out}/apt\nSuites: ./\nTrusted: yes\n`,
    );
    const apt = [
      '-o',
      `Dir::State=${state}`,
      '-o',
      `Dir::State::status=${join(state, 'status')}`,
      '-o',
      `Dir::Cache=${state}`,
      '-o',
      'Dir::Etc::SourceList=/dev/null',
      '-o',
      `Dir::Etc::SourceParts=${join(state, 'parts')}`,
      '-o',
      'APT::Sandbox::User=root',
    ];
    await run('apt-get', [...apt, 'update']);
    const simulated = await run('apt-get', [
      ...apt,
      'install',
      '--simulate',
      '--no-install-recommends',
      'containerd',
    ]);
    expect(simulated.stdout).toMatch(/^Conf containerd /m);
    expect(simulated.stdout).toMatch(/^Conf runc /m);
  }, 300_000);
});

async function snapshot(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath, entry.name);
    result[file] = createHash('sha256')
      .update(await readFile(file))
      .digest('hex');
  }
  return result;
}
