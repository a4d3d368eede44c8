/** The OS install's HTTP server, shared by the installs that run at once (os-install.ts). */
import { InstallServer } from './serve.js';

/**
 * One InstallServer (HTTP) shared by the installs of a run: started by the first install
 * that needs it, stopped when the last one in flight ends, or by `close` at the run's end.
 */
export class SharedInstallServer {
  private server: Promise<InstallServer> | undefined;
  private users = 0;

  constructor(private readonly opts: { advertise: string; port?: number }) {}

  /** The running server; each call is matched by one `release`. */
  async acquire(): Promise<InstallServer> {
    this.users++;
    try {
      return await (this.server ??= this.start());
    } catch (e) {
      this.users--;
      this.server = undefined;
      throw e;
    }
  }

  async release(): Promise<void> {
    if (--this.users > 0) return;
    await this.close();
  }

  /** Stops the server (if it runs); a later `acquire` starts a new one. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.users = 0;
    await server?.then((s) => s.close()).catch(() => undefined);
  }

  /** Whether it runs now (for tests and the CLI's messages). */
  get running(): boolean {
    return this.server !== undefined;
  }

  private async start(): Promise<InstallServer> {
    const server = new InstallServer({
      advertise: this.opts.advertise,
      ...(this.opts.port ? { port: this.opts.port } : {}),
    });
    await server.start();
    return server;
  }
}
