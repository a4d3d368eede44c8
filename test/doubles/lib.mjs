/**
 * Shared by the test doubles of kubeadm, kubectl, helm and clusterctl: where they keep their
 * state and record, how they fail, and the checks they apply to what they receive.
 *
 * - USTART_DOUBLES_DIR (default /var/lib/ustart-doubles): the cluster's state (what a real
 *   cluster keeps behind its API: nodes, objects, releases, tokens) and `calls.jsonl`, one JSON
 *   line per call: { timeNs, host, tool, argv, ok, message?, seen? }. The uMetal lab mounts one
 *   folder here on every host, because a cluster is one API whichever node a tool runs on.
 * - USTART_DOUBLES_HOST_DIR (default USTART_DOUBLES_DIR + `-host`): what belongs to one host
 *   only (the systemctl double's units and daemons), never shared.
 * - USTART_DOUBLES_ROOT (default /): the file system the doubles change (/etc/kubernetes, …),
 *   so a test on this machine can point it at a temporary folder; in the lab it is `/`.
 * - USTART_DOUBLES_K8S_VERSION (default 1.31.4): what `kubeadm version` reports.
 * - USTART_DOUBLES_HOSTNAME (default the host name): this host's name in the record and as a
 *   node (several "hosts" of a test on this machine share one host name).
 * - USTART_DOUBLES_SYSTEMCTL (default `systemctl` on PATH): what kubeadm restarts the kubelet
 *   with; USTART_DOUBLES_KUBELET_WAIT_MS how long it waits for it (default 10 s).
 * - USTART_DOUBLES_RESET_MS (default 1500): how long a control-plane `kubeadm reset` takes to
 *   tear its node down after it starts leaving etcd.
 * - A file `fail` in USTART_DOUBLES_DIR holding `TOOL COMMAND` (such as `kubeadm join`) makes
 *   that call fail for as long as the file is there: a fault to inject, then fix.
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const DIR = process.env.USTART_DOUBLES_DIR ?? '/var/lib/ustart-doubles';
export const ROOT = process.env.USTART_DOUBLES_ROOT ?? '/';
export const HOST_DIR = process.env.USTART_DOUBLES_HOST_DIR ?? `${DIR}-host`;

/** A path in the doubles' file system. */
export const at = (path) => join(ROOT, path);

mkdirSync(DIR, { recursive: true });
mkdirSync(HOST_DIR, { recursive: true });

function record(tool, argv, ok, extra) {
  const line = {
    timeNs: process.hrtime.bigint().toString(),
    clockNs: (BigInt(Date.now()) * 1_000_000n).toString(),
    host: process.env.USTART_DOUBLES_HOSTNAME ?? hostname(),
    tool,
    argv,
    ok,
    ...extra,
  };
  appendFileSync(join(DIR, 'calls.jsonl'), JSON.stringify(line) + '\n');
}

/**
 * Runs a double: `handler(argv)` returns what to record as `seen`; a thrown Refusal fails the
 * call. `scope` names the lock it holds: `cluster` (the state in DIR) or `host` (HOST_DIR, for
 * doubles of host tools such as systemctl, which a cluster double may call while it holds the
 * cluster's lock).
 */
export function runDouble(tool, handler, scope = 'cluster') {
  const argv = process.argv.slice(2);
  try {
    const fault = join(DIR, 'fail');
    if (existsSync(fault) && readFileSync(fault, 'utf8').trim() === `${tool} ${argv[0]}`) {
      refuse(`injected failure of "${tool} ${argv[0]}" (remove ${fault} to fix it)`);
    }
    // Read a piped manifest before taking the lock: in `kubectl get … | kubectl apply -f -`
    // both run at once, and a reader holding the lock would wait for a writer waiting for it.
    if (readsStdin(argv)) stdinText = readFileSync(0, 'utf8');
    const seen = exclusively(scope === 'host' ? HOST_DIR : DIR, () => handler(argv));
    record(tool, argv, true, seen === undefined ? {} : { seen });
  } catch (e) {
    const message = e instanceof Refusal ? e.message : `double crashed: ${e?.stack ?? e}`;
    record(tool, argv, false, { message });
    process.stderr.write(`${tool} (test double): ${message}\n`);
    process.exit(e instanceof Refusal ? e.code : 70);
  }
}

let stdinText;

const readsStdin = (argv) =>
  argv.some((a, i) => ['-f', '--filename'].includes(a) && argv[i + 1] === '-') ||
  argv.includes('-f=-') ||
  argv.includes('--filename=-');

/** A `-f FILE` argument's text; `-` is standard input, read before the state lock. */
export function readInput(file) {
  if (file !== '-') return readFileSync(file, 'utf8');
  stdinText ??= readFileSync(0, 'utf8');
  return stdinText;
}

/**
 * Runs `fn` holding the doubles' state lock. A real cluster's API server orders concurrent
 * writes; the doubles keep their cluster in JSON files that each call reads, changes and
 * writes back, so two steps running at once on one host (monitoring and logging both call
 * helm) would lose one another's release without it. Handlers are synchronous: the lock is
 * released when the handler returns, also by a call that goes on serving (port-forward).
 */
function exclusively(dir, fn) {
  const lock = join(dir, 'state.lock');
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      // A double killed while holding the lock (a step's timeout) must not stall the others.
      if (stale(lock)) rmSync(lock, { force: true });
      else Atomics.wait(pause, 0, 0, 5);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

/** Runs `fn` holding the cluster state's lock, for work a double does after its call. */
export function locked(fn) {
  try {
    return exclusively(DIR, fn);
  } catch (e) {
    process.stderr.write(`double crashed: ${e?.stack ?? e}\n`);
    process.exit(70);
  }
}

/** The lock's owner is gone, or never wrote its pid (killed right after creating it). */
function stale(lock) {
  let owner;
  try {
    owner = Number(readFileSync(lock, 'utf8'));
    if (!owner) return Date.now() - statSync(lock).mtimeMs > 5_000;
  } catch (e) {
    if (e.code === 'ENOENT') return false;
    throw e;
  }
  return !alive(owner);
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

export class Refusal extends Error {
  constructor(message, code = 1) {
    super(message);
    this.code = code;
  }
}

export function refuse(message, code = 1) {
  throw new Refusal(message, code);
}

/**
 * Flags as a map (`--name value`, `--name=value`). `known` lists the flags the tool takes;
 * a name ending in `!` is a switch that never takes a value, like `--overwrite`.
 */
export function parseFlags(argv, known) {
  const switches = new Set(known.filter((k) => k.endsWith('!')).map((k) => k.slice(0, -1)));
  const names = new Set(known.map((k) => k.replace(/!$/, '')));
  const flags = new Map();
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-') || a === '-') {
      rest.push(a);
      continue;
    }
    const [name, inline] = a.replace(/^--?/, '').split(/=(.*)/s);
    if (!names.has(name))
      refuse(`unknown flag ${a} (this double knows: ${[...names].join(', ')})`, 2);
    if (inline !== undefined) flags.set(name, inline);
    else if (switches.has(name)) flags.set(name, true);
    else if (i + 1 < argv.length) flags.set(name, argv[++i]);
    else refuse(`flag ${a} needs a value`, 2);
  }
  return { flags, rest };
}

/** Every YAML document of a file; refuses a missing or malformed file. */
export function yamlDocuments(file) {
  if (!file || !existsSync(file)) refuse(`config file ${file} does not exist`);
  const docs = parseAllDocuments(readFileSync(file, 'utf8'));
  for (const d of docs)
    if (d.errors.length) refuse(`${file} is not valid YAML: ${d.errors[0].message}`);
  return docs.map((d) => d.toJS()).filter((d) => d !== null);
}

/** Refuses unless `obj` has exactly the `allowed` keys (all `required` ones among them). */
export function keys(obj, where, required, allowed = required) {
  if (typeof obj !== 'object' || obj === null) refuse(`${where} must be a mapping`);
  for (const k of required) if (!(k in obj)) refuse(`${where} lacks ${k}`);
  for (const k of Object.keys(obj))
    if (!allowed.includes(k)) refuse(`${where} has unknown field ${k}`);
}

export function readState(name, fallback, dir = DIR) {
  const file = join(dir, name);
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : fallback;
}

export function writeState(name, value, dir = DIR) {
  // Written aside and renamed, so a double killed mid-write never leaves half a state file.
  const file = join(dir, name);
  writeFileSync(`${file}.${process.pid}.tmp`, JSON.stringify(value, null, 2));
  renameSync(`${file}.${process.pid}.tmp`, file);
}

/** The cluster's nodes as the kubeadm and kubectl doubles registered them. */
export function clusterNodes() {
  return Object.entries(readState('nodes-meta.json', {})).map(([name, n]) => ({
    name,
    labels: n.labels ?? {},
    taints: n.taints ?? [],
  }));
}

export function writeFile(path, text, mode = 0o600) {
  mkdirSync(dirname(at(path)), { recursive: true });
  writeFileSync(at(path), text, { mode });
}

/** A PEM certificate's base64 body, without its armour lines and whitespace, for comparing. */
export function pemBody(pem) {
  return pem?.replace(/-----[^-]+-----|\s/g, '');
}
