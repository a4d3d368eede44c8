/** The test lab itself: hosts are separate, air-gapped, reachable as promised, and leave nothing behind. */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPlanFile } from '../../src/plan/load.js';
import { createLab, type Lab } from '../lab/lab.js';
import { labAvailable } from '../lab/require-lab.js';
import { runCommand } from '../lab/run.js';

const available = labAvailable();

describe.skipIf(!available)('test lab', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await createLab({ hosts: 4, jump: true });
  });
  afterAll(async () => {
    await lab?.dispose();
  });

  it('gives every host its own hostname, address and writable root', async () => {
    const a = await lab.exec(0, 'hostname; echo from-a > /etc/lab-marker; cat /etc/lab-marker');
    const b = await lab.exec(1, 'hostname; cat /etc/lab-marker 2>/dev/null || echo absent');
    expect(a.stdout.split('\n').slice(0, 2)).toEqual([lab.hosts[0]!.name, 'from-a']);
    expect(b.stdout.split('\n').slice(0, 2)).toEqual([lab.hosts[1]!.name, 'absent']);
    await expect(readFile('/etc/lab-marker')).rejects.toThrow();
  });

  it('has no route out of the lab, and targets only behind the jump host', async () => {
    const routes = await lab.exec(0, 'ip -4 route');
    expect(routes.stdout).not.toMatch(/default/);
    const direct = await runCommand('ssh', [
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=5',
      `root@${lab.hosts[0]!.address}`,
      'true',
    ]);
    expect(direct.stderr).toMatch(/No route to host/);
    const viaJump = await runCommand('ssh', [
      '-i',
      lab.clientKeyPath,
      '-o',
      'BatchMode=yes',
      '-o',
      `UserKnownHostsFile=${lab.knownHostsPath}`,
      '-o',
      `ProxyCommand=ssh -i ${lab.clientKeyPath} -o BatchMode=yes -o UserKnownHostsFile=${lab.knownHostsPath} -W %h:%p root@${lab.jump!.address}`,
      `root@${lab.hosts[3]!.address}`,
      'hostname',
    ]);
    expect(viaJump.stdout.trim()).toBe(lab.hosts[3]!.name);
  });

  it('writes a valid plan pointing at the lab hosts through the jump host', async () => {
    const { plan, findings } = await loadPlanFile(lab.planPath);
    if (!plan)
      throw new Error(`the lab plan does not match the schema: ${JSON.stringify(findings)}`);
    expect(plan.servers.map((s) => s.ssh?.address)).toEqual(lab.hosts.map((h) => h.address));
    expect(plan.servers.map((s) => s.roles[0])).toEqual([
      'controller',
      'controller',
      'controller',
      'compute',
    ]);
    expect(plan.access.jumpHost?.address).toBe(lab.jump!.address);
    expect(await readFile(lab.planPath, 'utf8')).not.toContain(lab.testUser.password);
  });

  it('regenerates a host key that sshd then serves', async () => {
    const key = await lab.regenerateHostKey('jump');
    const scan = await runCommand('ssh-keyscan', ['-t', 'ed25519', lab.jump!.address]);
    expect(scan.stdout).toContain(key.split(' ')[1]);
  });

  it('removes every namespace, link, route and process on dispose', async () => {
    const extra = await createLab({ hosts: 1 });
    const prefix = `ulab${extra.id}`;
    await extra.dispose();
    await extra.dispose();
    const netns = await runCommand('ip', ['netns', 'list']);
    const links = await runCommand('ip', ['-o', 'link', 'show']);
    expect(netns.stdout).not.toContain(prefix);
    expect(links.stdout).not.toContain(prefix);
    expect(() => process.kill(extra.hosts[0]!.pid, 0)).toThrow();
  });
});
