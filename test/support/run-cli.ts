/** Runs the `ustart` CLI in-process with its output captured, as a test sees a shell run. */
import { main } from '../../src/cli/main.js';
import { bufferOutput } from '../../src/cli/output.js';

export async function runCli(
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  const out = bufferOutput();
  const code = await main(['node', 'ustart', ...args], out);
  return { code, out: out.out, err: out.err };
}
