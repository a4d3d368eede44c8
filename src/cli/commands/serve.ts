/**
 * `ustart serve`: the planning wizard in a browser (browser mode), for a jump host or a
 * machine without Electron. It runs until interrupted (Ctrl+C). With `--demo` it serves
 * the demo site, whose runs go to the demo lab started in this process (docs/demo.md).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { createCore, openStateDir } from '../../app/index.js';
import { startDemoSession } from '../../demo/index.js';
import { UstartError, messageOf } from '../../errors.js';
import { locateRenderer } from '../../server/renderer-build.js';
import { startServer } from '../../server/server.js';
import { EXIT } from '../exit.js';
import { paint, type Output } from '../output.js';
import { demoOptions, demoSettings, type DemoSwitches } from './demo.js';

interface ServeOptions extends DemoSwitches {
  port: string;
  host: string;
  open?: boolean;
  root: string;
  rebuild?: boolean;
  demo?: boolean;
}

export function registerServe(program: Command, out: Output, setCode: (c: number) => void): void {
  const command = program
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
    .option('--demo', 'serve the demo site, run against simulated servers on this machine');
  demoOptions(command, 'with --demo: ').action(async (opts: ServeOptions) => {
    const port = Number(opts.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new UstartError(
        'InvalidArgument',
        `--port ${opts.port} is not a port number (0–65535).`,
      );
    }
    // Whatever was started is closed, last first, however serving ends (an error too).
    const started: { dispose(): Promise<void> }[] = [];
    try {
      const demo = opts.demo ? await startDemoSession(demoSettings(opts)) : undefined;
      if (demo) started.push(demo);
      const root = demo ? demo.workspace : resolve(opts.root);
      const renderer = await locateRenderer({
        rebuild: opts.rebuild ?? false,
        log: (line) => out.stderr(line),
      });
      started.push(renderer);
      const core = createCore({
        mode: 'browser',
        // The demo keeps its access settings and recent files in its workspace.
        stateDir: demo
          ? join(demo.workspace, '.ustart-app')
          : await openStateDir({ warn: (m) => out.stderr(`${m}\n`) }),
        root,
        ...(demo ? { demo: { planFile: demo.planFile }, hostPages: { route: demo.route } } : {}),
      });
      started.push(core);
      const server = await startServer({
        core,
        rendererDir: renderer.dir,
        host: opts.host,
        port,
        log: (line) => out.stderr(line),
      });
      started.push({ dispose: () => server.close() });
      if (opts.host !== '127.0.0.1' && opts.host !== 'localhost' && opts.host !== '::1') {
        out.stderr(
          paint(
            out,
            'yellow',
            `warning: listening on ${opts.host}: anyone who can reach this machine and has the URL below can read and write plans in ${root}. Use it only on a trusted network (a jump host), or tunnel 127.0.0.1 with ssh -L instead.\n`,
          ),
        );
      }
      if (demo) {
        out.stdout(
          `${paint(out, 'magenta', '[DEMO]')} the demo site ${demo.planFile} on simulated servers (SSH on 127.0.0.1). Nothing real is touched.\n`,
        );
      }
      out.stdout(`uStart is serving ${root}\nopen: ${server.url}\n(Ctrl+C stops it)\n`);
      if (opts.open) started.push(await openInBrowser(server.url));
      await new Promise<void>((done) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          done();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    } finally {
      for (const s of started.reverse()) {
        await s
          .dispose()
          .catch((e: unknown) => out.stderr(`warning: while stopping: ${messageOf(e)}\n`));
      }
    }
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
