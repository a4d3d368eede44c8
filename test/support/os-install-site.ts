/**
 * What the OS-install phase's lab tests share (test/integration/run-os-install.test.ts,
 * test/e2e/os-install-page.test.ts): the demo site as a Debian 12 plan reached directly, a
 * port where nothing listens yet (a server with no OS refuses SSH), and a relay that opens it
 * to a lab host's sshd (the installed system coming up on that server's address).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { parse } from 'yaml';
import type { OsInstallDeps } from '../../src/osinstall/os-install.js';
import type { Server as PlanServer } from '../../src/plan/index.js';
import { assetPath } from '../../src/util/assets.js';
import { FakeBmc } from './fake-bmc.js';

export interface SiteDoc {
  site: { osRelease: string };
  servers: PlanServer[];
  access: { user: string; jumpHost?: unknown };
}

/** The demo site's plan document, Debian 12, no jump host (the OS install refuses one). */
export async function debianDemoSite(): Promise<SiteDoc> {
  const doc = parse(await readFile(assetPath('samples', 'demo-stuttgart.yaml'), 'utf8')) as SiteDoc;
  doc.site.osRelease = 'debian-12';
  delete doc.access.jumpHost;
  return doc;
}

/** A port on 127.0.0.1 where nothing listens now (a connect is refused). */
export async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * Listens on 127.0.0.1:port and relays every connection to address:toPort; the returned
 * function closes it and every connection (the caller's cleanup).
 */
export async function relay(
  port: number,
  address: string,
  toPort: number,
): Promise<() => Promise<void>> {
  const sockets = new Set<Socket>();
  const server = createServer((sock) => {
    const up = connect(toPort, address);
    sockets.add(sock).add(up);
    sock.pipe(up).pipe(sock);
    const end = () => {
      sock.destroy();
      up.destroy();
    };
    sock.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  };
}

/**
 * Fake BMCs (recorded in `bmcs` by host name) whose "installer" reports `reported` and then
 * runs `onPower` (the installed system coming up), and an ISO build that only keeps each
 * server's rendered late command for them: the hooks `ustart run`, the core and the browser
 * tests give instead of real BMCs and xorriso.
 */
export function fakeInstall(reported: string, onPower: (server: PlanServer) => Promise<void>) {
  const late = new Map<string, string>();
  const bmcs = new Map<string, FakeBmc>();
  return {
    bmcs,
    openBmc: (s: PlanServer) => {
      const bmc = new FakeBmc(
        s.bmc!.address,
        () => late.get(s.hostname)!,
        reported,
        () => onPower(s),
      );
      bmcs.set(s.hostname, bmc);
      return Promise.resolve(bmc);
    },
    buildIso: (async (r, file) => {
      late.set(r.hostname, r.late);
      await writeFile(file, 'ISO!rest');
      return 8;
    }) satisfies OsInstallDeps['buildIso'],
  };
}
