/**
 * The systemctl double on this machine, with its unit files in a temporary root
 * (USTART_DOUBLES_ROOT): it really starts a unit's ExecStart with the unit's environment,
 * reports it active while the process lives, stops it, and always gives chronyd `-x`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, watch } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const DOUBLE = fileURLToPath(new URL('./systemctl.mjs', import.meta.url));
let dir: string;
let root: string;
let state: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-systemctl-'));
  root = join(dir, 'root');
  state = join(dir, 'doubles');
  await mkdir(join(root, 'lib/systemd/system'), { recursive: true });
  await mkdir(join(root, 'etc/default'), { recursive: true });
});
afterEach(async () => {
  // Whatever a failed test left running.
  for (const unit of ['lab-sleep', 'chrony']) systemctl('stop', unit);
  await rm(dir, { recursive: true, force: true });
});

function systemctl(...args: string[]) {
  const r = spawnSync(process.execPath, [DOUBLE, ...args], {
    encoding: 'utf8',
    env: { ...process.env, USTART_DOUBLES_ROOT: root, USTART_DOUBLES_DIR: state },
  });
  return { status: r.status, out: r.stdout + r.stderr };
}

async function pidOf(unit: string): Promise<number> {
  return (
    JSON.parse(await readFile(join(`${state}-host`, 'units', `${unit}.json`), 'utf8')) as {
      pid: number;
    }
  ).pid;
}

/** The text of a file the daemon writes once it runs (fs.watch on its folder, no polling). */
function waitForText(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const done = () => {
      if (!existsSync(file)) return;
      const text = readFileSync(file, 'utf8');
      if (!text.endsWith('\n')) return;
      watcher.close();
      resolve(text);
    };
    const watcher = watch(dirname(file), done);
    watcher.on('error', reject);
    done();
  });
}

describe('systemctl double', { timeout: 120_000 }, () => {
  it('starts ExecStart with the unit environment, reports it active, and stops it', async () => {
    const args = join(dir, 'args');
    await writeFile(
      join(root, 'lib/systemd/system/lab-sleep.service'),
      [
        '[Service]',
        'EnvironmentFile=-/etc/default/lab-sleep',
        'Environment="GREETING=hello there"',
        'ExecStartPre=-/bin/false',
        `ExecStart=/bin/sh -c 'echo "$0 $1 $GREETING" > ${args}; exec sleep 300' \${FIRST} $REST`,
        '',
      ].join('\n'),
    );
    await writeFile(join(root, 'etc/default/lab-sleep'), 'FIRST=one\nREST="two"\n');
    expect(systemctl('is-active', 'lab-sleep')).toEqual({ status: 3, out: 'inactive\n' });
    expect(systemctl('enable', '--now', 'lab-sleep').status).toBe(0);
    expect(systemctl('is-active', '--quiet', 'lab-sleep')).toEqual({ status: 0, out: '' });
    expect(systemctl('is-enabled', 'lab-sleep')).toEqual({ status: 0, out: 'enabled\n' });
    const pid = await pidOf('lab-sleep.service');
    expect(await waitForText(args)).toBe('one two hello there\n');
    expect(systemctl('stop', 'lab-sleep').status).toBe(0);
    expect(systemctl('is-active', 'lab-sleep').status).toBe(3);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  });

  it('starts chronyd so it never sets the clock (-x), found by its alias', async () => {
    const chronyd = join(dir, 'bin', 'chronyd');
    await mkdir(join(dir, 'bin'));
    await writeFile(chronyd, `#!/bin/sh\necho "$@" > ${join(dir, 'args')}\nexec sleep 300\n`);
    await chmod(chronyd, 0o755);
    await writeFile(join(root, 'etc/default/chrony'), 'DAEMON_OPTS="-F 1"\n');
    await writeFile(
      join(root, 'lib/systemd/system/chrony.service'),
      `[Service]\nEnvironmentFile=-/etc/default/chrony\nExecStart=!${chronyd} $DAEMON_OPTS\n\n[Install]\nAlias=chronyd.service\n`,
    );
    expect(systemctl('restart', 'chronyd').status).toBe(0);
    expect(systemctl('is-active', 'chrony').status).toBe(0);
    expect(await waitForText(join(dir, 'args'))).toBe('-F 1 -x\n');
    expect(systemctl('stop', 'chrony').status).toBe(0);
  });

  it('starts a Type=simple unit whose binary is missing as systemd does: start succeeds, the unit fails (203/EXEC)', async () => {
    // docs/upstream-facts.md#systemd.simple-start: the kubelet's upstream unit has no Type=,
    // so a unit pointing at a binary that is not there is only seen as failed afterwards.
    await writeFile(
      join(root, 'lib/systemd/system/lab-missing.service'),
      '[Service]\nExecStart=/usr/bin/ustart-no-such-binary --flag\n',
    );
    expect(systemctl('start', 'lab-missing').status).toBe(0);
    expect(systemctl('is-active', 'lab-missing')).toEqual({ status: 3, out: 'failed\n' });
    await writeFile(
      join(root, 'lib/systemd/system/lab-missing-exec.service'),
      '[Service]\nType=exec\nExecStart=/usr/bin/ustart-no-such-binary\n',
    );
    expect(systemctl('start', 'lab-missing-exec')).toMatchObject({ status: 1 });
  });

  it('refuses what it does not model, and a unit that does not exist', () => {
    expect(systemctl('isolate', 'rescue.target').status).toBe(2);
    expect(systemctl('start', 'nothing-here')).toMatchObject({ status: 5 });
  });
});
