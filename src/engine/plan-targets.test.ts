import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan, Server } from '../plan/schema.js';
import { SshConfig } from '../ssh/ssh-config.js';
import { targetFromPlan } from './plan-targets.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-targets-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

// targetFromPlan reads only these parts of a plan and a server.
const plan = (jumpHost?: Plan['access']['jumpHost']) =>
  ({ access: { user: 'ops', ...(jumpHost ? { jumpHost } : {}) }, networks: [] }) as unknown as Plan;
const server = (hostname: string) => ({ hostname, addresses: {} }) as unknown as Server;

async function config(text: string): Promise<{ file: string; config: SshConfig }> {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}`);
  await writeFile(file, text);
  return { file, config: await SshConfig.load({ file, systemFile: null, home: dir }) };
}

describe('targetFromPlan with ~/.ssh/config', () => {
  it('takes HostName, Port, User, IdentityFile and a one-hop ProxyJump with the hop’s own config', async () => {
    const { config: c } = await config(
      'Host bastion\n  HostName 10.0.0.1\n  User jumper\n  IdentityFile ~/jump_key\n' +
        'Host node-*\n  HostName %h.lab\n  Port 2022\n  ProxyJump bastion:2200\n  IdentityFile ~/k_%h\n',
    );
    expect(targetFromPlan(plan(), server('node-1'), c)).toEqual({
      name: 'node-1',
      address: 'node-1.lab',
      port: 2022,
      user: 'ops',
      identityFiles: [join(dir, 'k_node-1.lab')],
      jump: {
        name: 'bastion',
        address: '10.0.0.1',
        port: 2200,
        user: 'jumper',
        identityFiles: [join(dir, 'jump_key')],
      },
    });
  });

  it('refuses a ProxyJump chain with the exact file and line', async () => {
    const { file, config: c } = await config('Host node-*\n  ProxyJump a@j1,j2:2200\n');
    expect(() => targetFromPlan(plan(), server('node-1'), c)).toThrow(
      `${file} line 2: ProxyJump a@j1,j2:2200 (for node-1) chains 2 jump hosts; uStart connects through one jump host.`,
    );
  });

  it('refuses a jump host that itself goes through another, naming its line', async () => {
    const { file, config: c } = await config(
      'Host node-*\n  ProxyJump j1\nHost j1\n  ProxyJump j0\n',
    );
    expect(() => targetFromPlan(plan(), server('node-1'), c)).toThrow(
      `${file} line 4: ProxyJump j0 for the jump host j1 (on the way to node-1) makes a chain`,
    );
    // The plan's own jump host is checked the same way.
    expect(() => targetFromPlan(plan({ address: 'j1' }), server('x'), c)).toThrow(
      `${file} line 4: ProxyJump j0 for the jump host j1`,
    );
  });
});
