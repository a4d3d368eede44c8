/** Runs the system tools the lab is built with (ip, ssh-keygen, nsenter) and says clearly when one fails. */
import { spawn } from 'node:child_process';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `cmd args`, feeding `input` on stdin (so secrets never reach argv). Never throws on exit code. */
export function runCommand(
  cmd: string,
  args: readonly string[],
  options: { input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    child.stdin.on('error', () => {
      /* the command may exit before reading its input; its exit code tells what happened */
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Like runCommand, but a non-zero exit is an error naming the command and its stderr. */
export async function mustRun(
  cmd: string,
  args: readonly string[],
  options: { input?: string } = {},
): Promise<string> {
  const r = await runCommand(cmd, args, options);
  if (r.code !== 0) {
    throw new Error(`lab: \`${cmd} ${args.join(' ')}\` exited ${r.code}: ${r.stderr.trim()}`);
  }
  return r.stdout;
}
