/**
 * Fan-out: gather facts (the fixed FACTS_SCRIPT) from N lab hosts (default 30) with
 * parallelism N, through the run engine (journal, log files and events included) vs a bare
 * ssh2 script, `parallel-ssh -p N` (Debian pssh), `xargs -P N ssh` and `ansible all -m
 * setup -f N` (Debian ansible) on the same hosts. Goal: the engine at most 0.8× the time of
 * parallel-ssh and at least 7× faster than Ansible. Tools that are not installed are left
 * out with a note (`apt-get install pssh ansible`).
 * Run: `node bin/run-ts.mjs bench/fanout.ts [HOSTS] [ROUNDS]` as root (it builds a lab).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import ssh2 from 'ssh2';
import { FACTS_STEPS, FACTS_SCRIPT, RunEngine } from '../src/engine/index.js';
import { KnownHosts } from '../src/ssh/known-hosts.js';
import { Ssh2Transport } from '../src/ssh/ssh2-transport.js';
import { createLab, type Lab } from '../test/lab/lab.js';
import { labUnavailableReason } from '../test/lab/require-lab.js';
import { mustRun } from '../test/lab/run.js';

type Contender = { name: string; run: () => Promise<void>; missing?: string };

async function main(): Promise<void> {
  const reason = labUnavailableReason();
  if (reason) throw new Error(`bench/fanout: ${reason}`);
  const n = Number(process.argv[2] ?? 30);
  const rounds = Number(process.argv[3] ?? 3);
  const dir = await mkdtemp(join(tmpdir(), 'ustart-bench-fanout-'));
  const lab = await createLab({ hosts: n });
  try {
    const contenders = await contendersFor(lab, dir, n);
    const times = new Map<string, number[]>();
    // Rounds interleave the tools, so a slow moment of the machine hits all of them.
    for (let r = 0; r < rounds; r++) {
      for (const c of contenders.filter((x) => !x.missing)) {
        const t0 = performance.now();
        await c.run();
        const s = (performance.now() - t0) / 1000;
        times.set(c.name, [...(times.get(c.name) ?? []), s]);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const of = (name: string) => {
      const t = times.get(name);
      return t ? median(t) : undefined;
    };
    const engine = of('uStart engine')!;
    const pssh = of('parallel-ssh');
    const ansible = of('ansible -m setup');
    console.log(
      `Facts from ${n} lab hosts, parallelism ${n}, median of ${rounds} (seconds, lower is better)`,
    );
    for (const c of contenders) {
      const t = of(c.name);
      if (t === undefined) {
        console.log(`  ${c.name.padEnd(22)}      —   ${c.missing}`);
        continue;
      }
      console.log(
        `  ${c.name.padEnd(22)} ${t.toFixed(2).padStart(6)}   ${(t / engine).toFixed(2)}× the engine's time`,
      );
    }
    if (pssh !== undefined) {
      console.log(`  engine / parallel-ssh = ${(engine / pssh).toFixed(2)}   (goal ≤ 0.80)`);
    }
    if (ansible !== undefined) {
      console.log(`  ansible / engine      = ${(ansible / engine).toFixed(1)}×  (goal ≥ 7)`);
    }
  } finally {
    await lab.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

async function contendersFor(lab: Lab, dir: string, n: number): Promise<Contender[]> {
  const hosts = lab.hosts.map((h) => h.address);
  const hostsFile = join(dir, 'hosts');
  await writeFile(hostsFile, hosts.join('\n') + '\n');
  const sshOpts = [
    '-i',
    lab.clientKeyPath,
    '-o',
    `UserKnownHostsFile=${lab.knownHostsPath}`,
    '-o',
    'BatchMode=yes',
  ];
  const key = await readFile(lab.clientKeyPath);
  const which = (bin: string) =>
    ['/usr/bin', '/usr/local/bin'].some((d) => existsSync(join(d, bin)));
  let round = 0;
  return [
    {
      name: 'uStart engine',
      run: async () => {
        const transport = new Ssh2Transport({
          knownHosts: new KnownHosts(lab.knownHostsPath),
          agentSocket: null,
          identityFiles: [lab.clientKeyPath],
        });
        try {
          const targets = new Map(lab.hosts.map((h) => [h.name, lab.target(h.index)]));
          const result = await new RunEngine({
            transport,
            runsDir: join(dir, 'runs'),
            steps: FACTS_STEPS.map((s) => ({ ...s, parallelism: n })),
            hosts: targets,
            resolveTargets: () => [...targets.keys()],
            planText: `# bench round ${round++}\n`,
            clusterLock: false,
          }).run();
          if (result.state !== 'succeeded') throw new Error(`engine run ${result.state}`);
        } finally {
          await transport.dispose();
        }
      },
    },
    {
      name: 'bare ssh2',
      run: async () => {
        await Promise.all(
          hosts.map(
            (host) =>
              new Promise<void>((resolve, reject) => {
                const c = new ssh2.Client();
                c.on('error', reject).on('ready', () =>
                  c.exec(FACTS_SCRIPT, (e, stream) => {
                    if (e) return reject(e);
                    stream.on('data', () => undefined).stderr.on('data', () => undefined);
                    stream.on('close', () => (c.end(), resolve()));
                  }),
                );
                c.connect({ host, username: 'root', privateKey: key, hostVerifier: () => true });
              }),
          ),
        );
      },
    },
    {
      name: 'parallel-ssh',
      missing: which('parallel-ssh') ? undefined : 'not installed (apt-get install pssh)',
      run: async () => {
        await mustRun('parallel-ssh', [
          '-p',
          String(n),
          '-h',
          hostsFile,
          '-l',
          'root',
          '-o',
          join(dir, 'pssh-out'),
          '-x',
          sshOpts.join(' '),
          FACTS_SCRIPT,
        ]);
      },
    },
    {
      name: 'xargs + ssh',
      run: async () => {
        await mustRun('sh', [
          '-c',
          `xargs -P ${n} -I{} ssh ${sshOpts.map((o) => `'${o}'`).join(' ')} root@{} "$0" < ${hostsFile} > /dev/null`,
          FACTS_SCRIPT,
        ]);
      },
    },
    {
      name: 'ansible -m setup',
      missing: which('ansible') ? undefined : 'not installed (apt-get install ansible)',
      run: async () => {
        const inventory = join(dir, 'inventory.ini');
        await writeFile(inventory, `[lab]\n${hosts.join('\n')}\n`);
        await mustRun('ansible', [
          'all',
          '-i',
          inventory,
          '-m',
          'setup',
          '-f',
          String(n),
          '-u',
          'root',
          '--private-key',
          lab.clientKeyPath,
          // `=`: a value that starts with -o would be read as an option.
          `--ssh-extra-args=-o UserKnownHostsFile=${lab.knownHostsPath} -o BatchMode=yes`,
          '--one-line',
        ]);
      },
    },
  ];
}

await main();
