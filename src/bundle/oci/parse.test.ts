/** Image references, auth challenges, platforms and mirror settings, parsed. */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseChallenges, parseTokenResponse } from './auth.js';
import { parsePlatform, platformMatches } from './manifest.js';
import { endpointFor, loadMirrorCredentials, parseMirrorOptions } from './mirrors.js';
import { formatImageReference, parseImageReference } from './reference.js';

describe('image references', () => {
  it.each([
    ['nginx', 'docker.io/library/nginx:latest'],
    ['nginx:1.27', 'docker.io/library/nginx:1.27'],
    ['rook/ceph:v1.15.0', 'docker.io/rook/ceph:v1.15.0'],
    ['index.docker.io/library/busybox:1', 'docker.io/library/busybox:1'],
    ['quay.io/ceph/ceph:v18.2.4', 'quay.io/ceph/ceph:v18.2.4'],
    ['localhost/x/y', 'localhost/x/y:latest'],
    ['127.0.0.1:5000/a/b:c', '127.0.0.1:5000/a/b:c'],
    [
      `registry.k8s.io/pause:3.10@sha256:${'a'.repeat(64)}`,
      `registry.k8s.io/pause:3.10@sha256:${'a'.repeat(64)}`,
    ],
    [`ghcr.io/x/y@sha256:${'b'.repeat(64)}`, `ghcr.io/x/y@sha256:${'b'.repeat(64)}`],
  ])('%s is %s', (text, normal) => {
    expect(formatImageReference(parseImageReference(text))).toBe(normal);
  });

  it.each([
    ['', 'empty'],
    ['Nginx', 'not a valid repository'],
    ['nginx:', 'not a valid tag'],
    ['nginx@sha256:abc', 'digest'],
    ['quay.io//x', 'not a valid repository'],
  ])('refuses %j', (text, why) => {
    expect(() => parseImageReference(text)).toThrow(why);
  });
});

describe('WWW-Authenticate', () => {
  it('reads a Bearer challenge as distribution sends it', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:samalba/my-app:pull,push',
        },
      },
    ]);
  });

  it('reads unquoted values, escapes and two challenges in one header', () => {
    expect(
      parseChallenges('Basic realm="a \\"b\\", c", Bearer realm=https://x/t,service=s'),
    ).toEqual([
      { scheme: 'basic', params: { realm: 'a "b", c' } },
      { scheme: 'bearer', params: { realm: 'https://x/t', service: 's' } },
    ]);
    expect(parseChallenges(undefined)).toEqual([]);
  });

  it('takes token or access_token, 60 s when expires_in is absent', () => {
    expect(parseTokenResponse({ token: 't', expires_in: 300 })).toEqual({
      token: 't',
      expiresIn: 300,
    });
    expect(parseTokenResponse({ access_token: 'a' })).toEqual({ token: 'a', expiresIn: 60 });
    expect(parseTokenResponse({})).toBeUndefined();
  });
});

describe('platforms', () => {
  const wanted = ['linux/amd64', 'linux/arm64'].map(parsePlatform);
  it('matches arm64 with or without the v8 variant, and nothing else', () => {
    expect(platformMatches({ os: 'linux', architecture: 'arm64', variant: 'v8' }, wanted)).toBe(
      true,
    );
    expect(platformMatches({ os: 'linux', architecture: 'arm64' }, wanted)).toBe(true);
    expect(platformMatches({ os: 'linux', architecture: 'arm', variant: 'v7' }, wanted)).toBe(
      false,
    );
    expect(platformMatches({ os: 'unknown', architecture: 'unknown' }, wanted)).toBe(false);
    expect(
      platformMatches({ os: 'linux', architecture: 'arm64' }, [parsePlatform('linux/arm64/v8')]),
    ).toBe(true);
  });
  it('refuses a platform without an architecture', () => {
    expect(() => parsePlatform('amd64')).toThrow('OS/ARCHITECTURE');
  });
});

describe('mirrors', () => {
  it('maps --mirror values to registries, the plain one to every registry', () => {
    const map = parseMirrorOptions([
      'https://harbor.example.com/hub',
      'quay.io=https://nexus.example.com:8443',
    ]);
    expect([...map]).toEqual([
      ['*', 'https://harbor.example.com/hub'],
      ['quay.io', 'https://nexus.example.com:8443'],
    ]);
    expect(() => parseMirrorOptions(['https://user:pw@harbor.example.com'])).toThrow(
      'holds credentials',
    );
    expect(() => parseMirrorOptions(['ftp://x'])).toThrow('http or https');
  });

  it('turns a mirror path into a repository prefix and never talks to docker.io itself', () => {
    const mirrors = new Map([['docker.io', 'https://harbor.example.com/dockerhub/']]);
    expect(endpointFor('docker.io', mirrors, new Map())).toEqual({
      origin: 'https://harbor.example.com',
      prefix: 'dockerhub/',
      registry: 'docker.io',
      mirror: true,
    });
    expect(endpointFor('docker.io', new Map(), new Map())).toMatchObject({
      origin: 'https://registry-1.docker.io',
      mirror: false,
    });
    expect(endpointFor('127.0.0.1:5000', new Map(), new Map()).origin).toBe(
      'http://127.0.0.1:5000',
    );
  });

  it('refuses to send credentials to a plain-http mirror on another machine', () => {
    const credentials = new Map([['*', { username: 'u', password: 'p' }]]);
    expect(() =>
      endpointFor('docker.io', new Map([['*', 'http://mirror.example.com']]), credentials),
    ).toThrow('clear text');
  });

  it('reads credentials from the environment and from a private file, naming lines not secrets', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ustart-oci-creds-'));
    try {
      const file = join(dir, 'creds');
      await writeFile(file, '# mirrors\nharbor.example.com robot$ci:t0ken:with:colons\n', {
        mode: 0o600,
      });
      const map = await loadMirrorCredentials(file, {
        USTART_MIRROR_USERNAME: 'u',
        USTART_MIRROR_PASSWORD: 'p',
      });
      expect(map.get('harbor.example.com')).toEqual({
        username: 'robot$ci',
        password: 't0ken:with:colons',
      });
      expect(map.get('*')).toEqual({ username: 'u', password: 'p' });
      await chmod(file, 0o644);
      await expect(loadMirrorCredentials(file, {})).rejects.toThrow('chmod 600');
      await writeFile(file, 'harbor.example.com only-a-secret-word\n', { mode: 0o600 });
      await chmod(file, 0o600);
      const e = await loadMirrorCredentials(file, {}).catch((err: Error) => err);
      expect((e as Error).message).toContain(':1:');
      expect((e as Error).message).not.toContain('only-a-secret-word');
      await expect(
        loadMirrorCredentials(undefined, { USTART_MIRROR_USERNAME: 'u' }),
      ).rejects.toThrow('both');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
