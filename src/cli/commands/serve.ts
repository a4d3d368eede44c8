/**
 * `ustart serve`: the planning wizard in a browser (browser mode), for a jump host or a
 * machine without Electron. It runs until interrupted (Ctrl+C).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { createCore } from '../../app/index.js';
import { UstartError } from '../../errors.js';
import { locateRenderer } from '../../server/renderer-build.js';
import { startServer } from '../../server/server.js';
import { EXIT } from '../exit.js';
import { paint, type Output } from '../output.js';

interface ServeOptions {
  port: string;
  host: string;
  open?: boolean;
  root: string;
  rebuild?: boolean;
}

export function registerServe(program: Command, out: Output, setCode: (c: number) => void): void {
  program
    .command('serve')
    .description('Serve the planning wizard to a browser on this machine.')
    .option('--port <n>', 'port to listen on (0 picks a free one)', '0')
    .option(
      '--host <addr>',
      'address to bind; anything but 127.0.0.1 exposes the wizard',
      '127.0.0.1',
    )
    .option('--open', 'open the wizard in the default browser')
    .option('--root <dir>', 'folder the wizard may open and save files in', '.')
    .option('--rebuild', 'build the UI afresh instead of using out/renderer')
    .action(async (opts: ServeOptions) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        throw new UstartError(
          'InvalidArgument',
          `--port ${opts.port} is not a port number (0–65535).`,
        );
      }
      const renderer = await locateRenderer({
        rebuild: opts.rebuild ?? false,
        log: (line) => out.stderr(line),
      });
      const core = createCore({
        mode: 'browser',
        stateDir: join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'ustart'),
        root: resolve(opts.root),
      });
      const server = await startServer({ core, rendererDir: renderer.dir, host: opts.host, port });
      if (opts.host !== '127.0.0.1' && opts.host !== 'localhost' && opts.host !== '::1') {
        out.stderr(
          paint(
            out,
            'yellow',
            `warning: listening on ${opts.host}: anyone who can reach this machine and has the URL below can read and write plans in ${resolve(opts.root)}. Use it only on a trusted network (a jump host), or tunnel 127.0.0.1 with ssh -L instead.\n`,
          ),
        );
      }
      out.stdout(
        `uStart is serving ${resolve(opts.root)}\nopen: ${server.url}\n(Ctrl+C stops it)\n`,
      );
      const launcher = opts.open ? await openInBrowser(server.url) : undefined;
      await new Promise<void>((done) => {
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
      await launcher?.dispose();
      await server.close();
      await core.dispose();
      await renderer.dispose();
      setCode(EXIT.ok);
    });
}

/**
 * Opens the URL in the default browser without putting the token on a command line (argv
 * is visible to every user of the machine): the browser is given a private file that
 * redirects to the URL.
 */
async function openInBrowser(url: string): Promise<{ dispose(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ustart-open-'));
  const file = join(dir, 'open.html');
  const target = JSON.stringify(url).replace(/</g, '\\u003c');
  await writeFile(
    file,
    `<!doctype html><meta charset="utf-8"><title>uStart</title><script>location.replace(${target})</script>\n`,
    { mode: 0o600 },
  );
  const command =
    process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  const child = spawn(command, [file], { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
  return { dispose: () => rm(dir, { recursive: true, force: true }) };
}
