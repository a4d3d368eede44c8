/**
 * systemctl test double for the lab, where systemd cannot run: a lab host is an sshd chrooted
 * into an overlay of `/` in network namespaces (docs/test-lab.md), so there is no PID 1 of its
 * own and no D-Bus. The double stands in for systemd's service manager only as far as the
 * runbook uses it, and does it for real: `start`/`restart` read the unit file the package
 * installed (drop-ins included), load its Environment and EnvironmentFile, run ExecStartPre and
 * start ExecStart as a daemon in its own session, logging to HOST_DIR/units/UNIT.log; `stop` sends
 * SIGTERM and waits for the process to end; `is-active` asks the kernel whether the process
 * lives. `enable`/`disable` only record the wish (there is no boot to honour it).
 *
 * The lab shares the machine's clock: chronyd is always started with `-x`, so it tracks its
 * servers but never sets the time (a real host's systemd starts it without).
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  accessSync,
  appendFileSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { at, HOST_DIR, readState, refuse, runDouble, writeState } from './lib.mjs';

const UNIT_DIRS = [
  '/etc/systemd/system',
  '/run/systemd/system',
  '/lib/systemd/system',
  '/usr/lib/systemd/system',
];
const STOP_WAIT_S = 30;

const unitName = (u) => (/\.(service|socket|timer|target|mount)$/.test(u) ? u : `${u}.service`);

/** Sections → key → list of values, in the order systemd reads them; `KEY=` empties a list. */
function parseUnit(text, into = {}) {
  let section;
  const joined = text.replace(/\\\n/g, ' ');
  for (const raw of joined.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) {
      section = into[head[1]] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (!section || eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    section[key] = value === '' ? [] : [...(section[key] ?? []), value];
  }
  return into;
}

/** The unit's file (by name or by an `Alias=`), with its drop-ins applied. */
function loadUnit(name) {
  for (const dir of UNIT_DIRS) {
    const file = at(join(dir, name));
    if (existsSync(file)) return withDropIns(name, parseUnit(readFileSync(file, 'utf8')));
  }
  for (const dir of UNIT_DIRS) {
    if (!existsSync(at(dir))) continue;
    for (const f of readdirSync(at(dir)).filter((n) => n.endsWith('.service'))) {
      const unit = parseUnit(readFileSync(at(join(dir, f)), 'utf8'));
      const aliases = (unit.Install?.Alias ?? []).flatMap((a) => a.split(/\s+/));
      if (aliases.includes(name)) return { ...withDropIns(f, unit), name: f };
    }
  }
  refuse(`Unit ${name} could not be found.`, 5);
}

function withDropIns(name, unit) {
  for (const dir of UNIT_DIRS) {
    const d = at(join(dir, `${name}.d`));
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d)
      .filter((n) => n.endsWith('.conf'))
      .sort())
      parseUnit(readFileSync(join(d, f), 'utf8'), unit);
  }
  return { name, ...unit };
}

/** Words of a command line, with systemd's quoting (single and double quotes). */
function words(text) {
  const out = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of text.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

function environmentOf(service) {
  const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' };
  // Not systemd's: the doubles' own settings travel to a double the unit starts (the kubelet),
  // so a test that runs them in a temporary folder keeps them there.
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('USTART_DOUBLES_')) env[k] = v;
  for (const line of service.Environment ?? [])
    for (const w of words(line)) {
      const eq = w.indexOf('=');
      if (eq > 0) env[w.slice(0, eq)] = w.slice(eq + 1);
    }
  for (const entry of service.EnvironmentFile ?? []) {
    const optional = entry.startsWith('-');
    const file = at(optional ? entry.slice(1) : entry);
    if (!existsSync(file)) {
      if (optional) continue;
      refuse(`EnvironmentFile ${file} of the unit does not exist`);
    }
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
      if (m) env[m[1]] = m[2].trim().replace(/^(["'])(.*)\1$/, '$2');
    }
  }
  return env;
}

/** An Exec line as argv: prefixes read, `${VAR}` one word, `$VAR` split into words. */
function command(line, env) {
  const prefix = /^[-@:+!]*/.exec(line)[0];
  const argv = words(line.slice(prefix.length)).flatMap((w) => {
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(w);
    if (whole) return (env[whole[1]] ?? '').split(/\s+/).filter(Boolean);
    return [w.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, v) => env[v] ?? '')];
  });
  if (basename(argv[0] ?? '') === 'chronyd' && !argv.includes('-x')) argv.push('-x');
  return { argv, ignoreFailure: prefix.includes('-') };
}

const unitsDir = () => {
  mkdirSync(join(HOST_DIR, 'units'), { recursive: true });
  return join(HOST_DIR, 'units');
};
const stateOf = (name) => readState(`units/${name}.json`, { enabled: false }, HOST_DIR);
const saveState = (name, s) => {
  unitsDir();
  writeState(`units/${name}.json`, s, HOST_DIR);
};

/** State and start time of a process (/proc/PID/stat), or undefined when it is gone. */
function processStat(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], startTime: fields[19] };
  } catch {
    return undefined;
  }
}

/** Whether the recorded main process still runs: the same PID, started at the same time. */
function alive(s) {
  if (!s.pid) return false;
  const now = processStat(s.pid);
  return now !== undefined && now.state !== 'Z' && now.startTime === s.startTime;
}

function runSync(argv, env, log, what) {
  const fd = openSync(log, 'a');
  const r = spawnSync(argv[0], argv.slice(1), { env, stdio: ['ignore', fd, fd] });
  return r.error ? `${what} ${argv[0]} could not run: ${r.error.message}` : r.status;
}

function start(name) {
  const unit = loadUnit(name);
  const service = unit.Service ?? {};
  const s = stateOf(unit.name);
  if (alive(s)) return { unit: unit.name, pid: s.pid, already: true };
  const env = environmentOf(service);
  const log = join(unitsDir(), `${unit.name}.log`);
  for (const line of service.ExecStartPre ?? []) {
    const pre = command(line, env);
    const status = runSync(pre.argv, env, log, 'ExecStartPre');
    if (status !== 0 && !pre.ignoreFailure)
      refuse(`Job for ${unit.name} failed: ExecStartPre ${pre.argv.join(' ')} gave ${status}`);
  }
  const lines = service.ExecStart ?? [];
  if (lines.length !== 1) refuse(`${unit.name} has ${lines.length} ExecStart lines; expected 1`);
  const main = command(lines[0], env);
  const type = (service.Type ?? ['simple']).at(-1);
  if (!executable(main.argv[0])) {
    // systemd.service(5), Type=simple: `systemctl start` reports success even when the
    // binary is missing; the unit then fails with status 203/EXEC
    // (docs/upstream-facts.md#systemd.simple-start). Other types make start fail.
    appendFileSync(
      log,
      `${unit.name}: Failed at step EXEC spawning ${main.argv[0]}: No such file or directory (status=203/EXEC)\n`,
    );
    saveState(unit.name, { enabled: s.enabled, failed: '203/EXEC' });
    if (type !== 'simple')
      refuse(
        `Job for ${unit.name} failed because the control process exited with error code (203/EXEC: ${main.argv[0]} does not exist)`,
      );
    return { unit: unit.name, failed: '203/EXEC', argv: main.argv };
  }
  let pid;
  if (type === 'forking') {
    const pidFile = service.PIDFile?.at(-1);
    if (!pidFile)
      refuse(`${unit.name} is Type=forking without PIDFile; the double cannot follow it`);
    const status = runSync(main.argv, env, log, 'ExecStart');
    if (status !== 0)
      refuse(`Job for ${unit.name} failed: ${main.argv.join(' ')} gave ${status}; see ${log}`);
    if (!existsSync(at(pidFile)))
      refuse(`${unit.name} started but wrote no ${pidFile}; see ${log}`);
    pid = Number(readFileSync(at(pidFile), 'utf8').trim());
  } else {
    const fd = openSync(log, 'a');
    // Its own session: the daemon outlives this command and the SSH session that ran it.
    const child = spawn(main.argv[0], main.argv.slice(1), {
      env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.unref();
    pid = child.pid;
  }
  saveState(unit.name, { ...s, pid, startTime: processStat(pid)?.startTime, argv: main.argv });
  return { unit: unit.name, pid, argv: main.argv };
}

function stop(name) {
  const unit = loadUnit(name);
  const s = stateOf(unit.name);
  if (!alive(s)) return { unit: unit.name, running: false };
  process.kill(s.pid, 'SIGTERM');
  // tail --pid follows the process without a poll loop of our own.
  spawnSync('tail', [`--pid=${s.pid}`, '-f', '/dev/null'], { timeout: STOP_WAIT_S * 1000 });
  if (alive(s)) process.kill(s.pid, 'SIGKILL');
  saveState(unit.name, { enabled: s.enabled });
  return { unit: unit.name, stopped: s.pid };
}

function setEnabled(name, enabled) {
  const unit = loadUnit(name);
  saveState(unit.name, { ...stateOf(unit.name), enabled });
  return unit.name;
}

/** An executable file at that absolute path (systemd resolves ExecStart to an absolute path). */
function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

runDouble(
  'systemctl',
  (argv) => {
    const flags = argv.filter((a) => a.startsWith('-'));
    const [verb, ...units] = argv.filter((a) => !a.startsWith('-'));
    for (const f of flags)
      if (!['--quiet', '-q', '--now', '--no-block', '--no-pager', '--system'].includes(f))
        refuse(`unknown flag ${f}`, 2);
    const quiet = flags.includes('--quiet') || flags.includes('-q');
    const names = units.map(unitName);
    const say = (text) => quiet || process.stdout.write(`${text}\n`);
    switch (verb) {
      case 'daemon-reload':
        return { reloaded: true };
      case 'start':
        return { started: names.map(start) };
      case 'stop':
        return { stopped: names.map(stop) };
      case 'restart':
      case 'reload-or-restart':
        return {
          restarted: names.map((n) => {
            stop(n);
            return start(n);
          }),
        };
      case 'enable':
      case 'disable': {
        const on = verb === 'enable';
        const done = names.map((n) => setEnabled(n, on));
        if (flags.includes('--now')) names.forEach(on ? start : stop);
        return { [verb]: done };
      }
      case 'is-active':
      case 'status': {
        const states = names.map((n) => {
          const st = stateOf(loadUnit(n).name);
          return alive(st) ? 'active' : st.failed ? 'failed' : 'inactive';
        });
        states.forEach(say);
        if (states.some((s) => s !== 'active')) process.exitCode = 3;
        return { states };
      }
      case 'is-enabled': {
        const states = names.map((n) =>
          stateOf(loadUnit(n).name).enabled ? 'enabled' : 'disabled',
        );
        states.forEach(say);
        if (states.some((s) => s !== 'enabled')) process.exitCode = 1;
        return { states };
      }
      case 'reset-failed':
        return undefined;
      default:
        refuse(`this double does not know "systemctl ${argv.join(' ')}"`, 2);
    }
  },
  'host',
);
