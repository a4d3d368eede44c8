/**
 * The Redfish client against the Redfish double (HTTPS, self-signed, session auth), whose
 * power, one-time boot and CD drive are a real QEMU VM (TCG) driven over QMP.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { get as httpsGet } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BmcCertificates } from '../../src/bmc/certificates.js';
import { RedfishBmc } from '../../src/bmc/redfish.js';
import { isUstartError } from '../../src/errors.js';
import { RedfishDouble, SAMPLE_HARDWARE } from '../doubles/redfish-double.js';

const run = promisify(execFile);
const LOGIN = { username: 'admin', password: 'Rf-s3cret-42' };

let dir: string;
let double: RedfishDouble;
let limited: RedfishDouble | undefined;
let web: Server;
let isoUrl: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-bmc-redfish-'));
  double = await RedfishDouble.start({ dir, ...LOGIN });
  await mkdir(join(dir, 'iso'));
  await writeFile(join(dir, 'iso', 'marker.txt'), 'ustart\n');
  await run('xorriso', ['-as', 'mkisofs', '-quiet', '-o', join(dir, 'boot.iso'), join(dir, 'iso')]);
  const iso = await readFile(join(dir, 'boot.iso'));
  web = createServer((req, res) => {
    if (req.url === '/boot.iso')
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(iso);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  isoUrl = `http://127.0.0.1:${(web.address() as AddressInfo).port}/boot.iso`;
}, 60_000);

afterAll(async () => {
  await double?.close();
  await limited?.close();
  await new Promise<void>((r) => (web ? web.close(() => r()) : r()));
  await rm(dir, { recursive: true, force: true });
});

function pins(acceptNew = false): BmcCertificates {
  return new BmcCertificates(join(dir, `pins-${Math.random().toString(36).slice(2)}`), acceptNew);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('Redfish over pinned TLS', () => {
  it('refuses an unknown certificate before sending anything, with openssl’s fingerprint', async () => {
    const before = double.requests.length;
    const e = await rejection(
      RedfishBmc.connect({
        address: '127.0.0.1',
        port: double.port,
        login: LOGIN,
        certificates: pins(),
      }),
    );
    expect(isUstartError(e, 'BmcCertificateUnknown')).toBe(true);
    expect((e as { detail: { fingerprint: string } }).detail.fingerprint).toBe(double.fingerprint);
    expect(double.requests.length).toBe(before);
  });

  it('refuses a changed certificate, naming the BMC and both fingerprints', async () => {
    const store = pins();
    const old = 'AA:'.repeat(31) + 'AA';
    await store.add('127.0.0.1', double.port, old);
    const before = double.requests.length;
    const e = await rejection(
      RedfishBmc.connect({
        address: '127.0.0.1',
        port: double.port,
        login: LOGIN,
        certificates: store,
      }),
    );
    expect(isUstartError(e, 'BmcCertificateMismatch')).toBe(true);
    const msg = (e as Error).message;
    expect(msg).toContain(`[127.0.0.1]:${double.port}`);
    expect(msg).toContain(old);
    expect(msg).toContain(double.fingerprint);
    expect(double.requests.length).toBe(before);
  });

  it('pins an accepted certificate and uses the pin next time', async () => {
    const store = pins(true);
    const bmc = await RedfishBmc.connect({
      address: '127.0.0.1',
      port: double.port,
      login: LOGIN,
      certificates: store,
    });
    await bmc.close();
    expect(await readFile(store.file, 'utf8')).toBe(
      `[127.0.0.1]:${double.port} sha256 ${double.fingerprint}\n`,
    );
    const again = new BmcCertificates(store.file);
    const bmc2 = await RedfishBmc.connect({
      address: '127.0.0.1',
      port: double.port,
      login: LOGIN,
      certificates: again,
    });
    await bmc2.close();
  });

  it('a wrong password is AuthFailed, without the password in the message', async () => {
    const store = pins(true);
    const e = await rejection(
      RedfishBmc.connect({
        address: '127.0.0.1',
        port: double.port,
        login: { username: 'admin', password: 'nope-wrong' },
        certificates: store,
      }),
    );
    expect(isUstartError(e, 'AuthFailed')).toBe(true);
    expect((e as Error).message).not.toContain('nope-wrong');
  });

  it('an address with nothing listening is reported as not answering', async () => {
    const e = await rejection(
      RedfishBmc.connect({ address: '127.0.0.1', port: 1, login: LOGIN, certificates: pins(true) }),
    );
    expect(isUstartError(e, 'BmcFailed')).toBe(true);
    expect((e as { detail: { unreachable?: boolean } }).detail.unreachable).toBe(true);
  });
});

describe('Redfish session, power, boot and virtual media on a QEMU VM', () => {
  it('holds one session while open and deletes it on close', async () => {
    const deletes = () =>
      double.requests.filter((r) => r.startsWith('DELETE /redfish/v1/SessionService/Sessions/'))
        .length;
    const before = deletes();
    const bmc = await RedfishBmc.connect({
      address: '127.0.0.1',
      port: double.port,
      login: LOGIN,
      certificates: pins(true),
    });
    expect(double.sessions.size).toBe(1);
    await bmc.close();
    expect(double.sessions.size).toBe(0);
    expect(deletes()).toBe(before + 1);
  });

  it('logs in again once when the BMC ended the session', async () => {
    const bmc = await RedfishBmc.connect({
      address: '127.0.0.1',
      port: double.port,
      login: LOGIN,
      certificates: pins(true),
    });
    try {
      double.sessions.clear(); // as a BMC's session timeout does
      expect(await bmc.powerState()).toBe('Off');
      expect(double.sessions.size).toBe(1);
    } finally {
      await bmc.close();
    }
    expect(double.sessions.size).toBe(0);
  });

  it('logs in once for all the requests in flight when the session ended (the inventory sends several)', async () => {
    const bmc = await RedfishBmc.connect({
      address: '127.0.0.1',
      port: double.port,
      login: LOGIN,
      certificates: pins(true),
    });
    const logins = () => double.requests.filter((r) => /^POST .*Sessions$/.test(r)).length;
    try {
      double.sessions.clear();
      const before = logins();
      const [a, b, c] = await Promise.all([bmc.inventory(), bmc.powerState(), bmc.inventory()]);
      expect(a).toEqual(c);
      expect(b).toBe('Off');
      expect(logins()).toBe(before + 1);
      expect(double.sessions.size).toBe(1);
    } finally {
      await bmc.close();
    }
    expect(double.sessions.size).toBe(0);
  });

  it('the double refuses a request without a session token', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      httpsGet(
        {
          host: '127.0.0.1',
          port: double.port,
          path: '/redfish/v1/Systems',
          rejectUnauthorized: false,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      ).on('error', reject);
    });
    expect(status).toBe(401);
  });

  it('reads the inventory as the schema describes it', async () => {
    const bmc = await RedfishBmc.connect({
      address: '127.0.0.1',
      port: double.port,
      login: LOGIN,
      certificates: pins(true),
    });
    try {
      const inv = await bmc.inventory();
      expect(inv.model).toBe(SAMPLE_HARDWARE.model);
      expect(inv.processors.map((p) => [p.cores, p.threads])).toEqual([
        [32, 64],
        [32, 64],
      ]);
      expect(inv.memoryGiB).toBe(512);
      expect(inv.nics.map((n) => n.mac)).toEqual(['0a:1b:2c:3d:4e:01', '0a:1b:2c:3d:4e:02']);
      expect(inv.drives.map((d) => [d.capacityBytes, d.mediaType, d.protocol])).toEqual(
        SAMPLE_HARDWARE.drives.map((d) => [d.capacityBytes, d.mediaType, d.protocol]),
      );
    } finally {
      await bmc.close();
    }
  });

  it('boots the VM once from the inserted CD, then from disk again', async () => {
    const bmc = await RedfishBmc.connect({
      address: '127.0.0.1',
      port: double.port,
      login: LOGIN,
      certificates: pins(true),
    });
    try {
      expect(await bmc.powerState()).toBe('Off');
      await bmc.insertMedia(isoUrl);
      await bmc.setOneTimeBoot('Cd');
      expect((double.system.Boot as Record<string, string>).BootSourceOverrideEnabled).toBe('Once');
      await bmc.power('On');
      expect(await bmc.powerState()).toBe('On');
      expect(await double.machine.status()).toBe('running');
      // The ISO the BMC fetched is in QEMU's CD-ROM (QMP query-block).
      const cd = await double.machine.cdInQemu();
      expect(cd).toBe(double.machine.cdMedium);
      expect(await readFile(cd!)).toEqual(await readFile(join(dir, 'boot.iso')));
      // SeaBIOS boots from the CD first: the one-time override reached the firmware.
      await expect
        .poll(() => double.machine.bootLog(), { timeout: 60_000, interval: 200 })
        .toContain('Booting from DVD/CD');
      expect(double.machine.starts).toEqual(['order=c,once=d']);
      expect((double.system.Boot as Record<string, string>).BootSourceOverrideEnabled).toBe(
        'Disabled',
      );

      await bmc.ejectMedia();
      expect(await double.machine.cdInQemu()).toBeNull();
      await bmc.ejectMedia(); // nothing inserted: nothing to do

      await bmc.power('ForceOff');
      expect(await bmc.powerState()).toBe('Off');
      expect(double.machine.on).toBe(false);

      await bmc.power('PowerCycle'); // from Off: powers on
      expect(await bmc.powerState()).toBe('On');
      expect(double.machine.starts).toEqual(['order=c,once=d', 'order=c']);
      await bmc.power('ForceOff');
    } finally {
      await bmc.close();
      await double.machine.dispose();
    }
  }, 120_000);

  it('checks the allowed reset types and falls back only to an equivalent', async () => {
    limited = await RedfishDouble.start({
      dir: await mkdtemp(join(dir, 'limited-')),
      ...LOGIN,
      resetTypes: ['ForceOn', 'ForceOff'],
    });
    const bmc = await RedfishBmc.connect({
      address: '127.0.0.1',
      port: limited.port,
      login: LOGIN,
      certificates: pins(true),
    });
    try {
      const e = await rejection(bmc.power('GracefulShutdown'));
      expect(isUstartError(e, 'BmcUnsupported')).toBe(true);
      expect((e as Error).message).toContain('ForceOn, ForceOff');
      expect(limited.requests.some((r) => r.includes('ComputerSystem.Reset'))).toBe(false);
      await bmc.power('On'); // sent as ForceOn
      expect(await bmc.powerState()).toBe('On');
      await bmc.power('ForceOff');
      expect(await bmc.powerState()).toBe('Off');
    } finally {
      await bmc.close();
    }
  }, 60_000);
});
