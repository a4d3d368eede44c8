/** Shared bits of the SSH integration tests: credential stores, output collectors, a real ssh-agent. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CredentialRequest, CredentialStore } from '../../src/ssh/credentials.js';
import { mustRun } from '../lab/run.js';

/** A store that answers from a fixed table and records what was asked. */
export function storeOf(
  answers: Partial<Record<CredentialRequest['kind'], string>>,
): CredentialStore & {
  asked: CredentialRequest[];
} {
  const asked: CredentialRequest[] = [];
  return {
    asked,
    get(request) {
      asked.push(request);
      return Promise.resolve(answers[request.kind]);
    },
  };
}

export function collector(): {
  chunks: Buffer[];
  push: (c: Uint8Array) => void;
  text: () => string;
} {
  const chunks: Buffer[] = [];
  return {
    chunks,
    push: (c) => chunks.push(Buffer.from(c)),
    text: () => Buffer.concat(chunks).toString('utf8'),
  };
}

/** A real ssh-agent holding `keyFile`, on its own socket. */
export async function startAgent(
  keyFile: string,
): Promise<{ socket: string; stop: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ustart-agent-'));
  const socket = join(dir, 'agent.sock');
  const agent: ChildProcess = spawn('ssh-agent', ['-D', '-a', socket], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  // With -D the agent prints its environment lines once its socket listens.
  await new Promise<void>((resolve, reject) => {
    agent.once('error', reject);
    agent.once('exit', (code) => reject(new Error(`ssh-agent exited ${code}`)));
    agent.stdout!.once('data', () => resolve());
  });
  agent.removeAllListeners('exit');
  const stop = async () => {
    if (agent.exitCode === null) {
      const gone = new Promise((r) => agent.once('exit', r));
      agent.kill();
      await gone;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await runWithEnv('ssh-add', [keyFile], { SSH_AUTH_SOCK: socket });
  } catch (e) {
    await stop();
    throw e;
  }
  return { socket, stop };
}

function runWithEnv(cmd: string, args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}`)),
    );
  });
}

/** `ssh-keygen -lf` of a public key line: the fingerprint OpenSSH itself prints. */
export async function opensshFingerprint(publicKeyLine: string, dir: string): Promise<string> {
  const file = join(dir, `fp-${Date.now()}-${Math.random().toString(16).slice(2)}.pub`);
  const { writeFile } = await import('node:fs/promises');
  await writeFile(file, `${publicKeyLine}\n`);
  const out = await mustRun('ssh-keygen', ['-lf', file]);
  return out.split(' ')[1]!;
}
