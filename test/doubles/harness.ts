/**
 * Runs the test doubles on this machine as a lab's hosts would: each host has its own root
 * (USTART_DOUBLES_ROOT) and host state, all share one cluster state (as the uMetal lab mounts
 * one folder on every host), all in a temporary folder, so nothing on this machine changes.
 * A host's kubelet unit starts the kubelet double, as the bundle's unit starts the pinned
 * binary; `dispose` stops every kubelet a test started and removes the folder.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const BIN = fileURLToPath(new URL('./bin/', import.meta.url));
export const KUBELET_UNIT = '/lib/systemd/system/kubelet.service';

export interface Call {
  tool: string;
  argv: string[];
  ok: boolean;
  host: string;
  message?: string;
  seen?: Record<string, unknown>;
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface DoubleHost {
  name: string;
  root: string;
  run(tool: string, ...args: string[]): Run;
  /** The same call in the background, for calls that run at once, as parallel steps do. */
  start(tool: string, ...args: string[]): Promise<{ stdout: string; stderr: string }>;
  /** This host's calls, oldest first. */
  calls(): Promise<Call[]>;
  /** Writes a file into the host's root; returns its path on this machine. */
  put(path: string, text: string): Promise<string>;
  /** The kubelet unit as the bundle ships it, with ExecStart pointing at `binary`. */
  kubelet(binary?: string): Promise<string>;
}

export interface DoublesCluster {
  dir: string;
  /** The cluster's shared state folder (USTART_DOUBLES_DIR). */
  state: string;
  host(name: string, extraEnv?: Record<string, string>): DoubleHost;
  readState<T>(name: string): Promise<T>;
  writeState(name: string, value: unknown): Promise<void>;
  dispose(): Promise<void>;
}

export async function doublesCluster(): Promise<DoublesCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'ustart-doubles-'));
  const state = join(dir, 'cluster');
  const made: DoubleHost[] = [];
  const host = (name: string, extraEnv: Record<string, string> = {}): DoubleHost => {
    const root = join(dir, name, 'root');
    const env = {
      ...process.env,
      USTART_DOUBLES_ROOT: root,
      USTART_DOUBLES_DIR: state,
      USTART_DOUBLES_HOST_DIR: join(dir, name, 'host'),
      USTART_DOUBLES_HOSTNAME: name,
      USTART_DOUBLES_SYSTEMCTL: join(BIN, 'systemctl'),
      USTART_DOUBLES_RESET_MS: '400',
      ...extraEnv,
    };
    const put = async (path: string, text: string) => {
      await mkdir(dirname(join(root, path)), { recursive: true });
      await writeFile(join(root, path), text);
      return join(root, path);
    };
    const h: DoubleHost = {
      name,
      root,
      run: (tool, ...args) => {
        const r = spawnSync(join(BIN, tool), args, { encoding: 'utf8', env });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
      },
      start: (tool, ...args) => promisify(execFile)(join(BIN, tool), args, { env }),
      calls: async () =>
        (await readFile(join(state, 'calls.jsonl'), 'utf8'))
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as Call)
          .filter((c) => c.host === name),
      put,
      kubelet: (binary = join(BIN, 'kubelet')) =>
        put(KUBELET_UNIT, `[Service]\nExecStart=${binary} --config=/var/lib/kubelet/config.yaml\n`),
    };
    made.push(h);
    return h;
  };
  return {
    dir,
    state,
    host,
    readState: async <T>(name: string) =>
      JSON.parse(await readFile(join(state, name), 'utf8')) as T,
    writeState: (name, value) => writeFile(join(state, name), JSON.stringify(value, null, 2)),
    dispose: async () => {
      for (const h of made.splice(0)) h.run('systemctl', 'stop', 'kubelet');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
