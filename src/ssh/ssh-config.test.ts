/**
 * uStart's reading of ssh_config against OpenSSH's own: for every case, `ssh -G -F FILE
 * HOST` (and, for identity files, which `ssh -G` prints before expanding them, the paths
 * `ssh -v` loads) must give the same values as SshConfig.lookup, for every field uStart
 * uses. Needs the OpenSSH client (`ssh`), as on the lab machines.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshConfig, type SshConfigEntry } from './ssh-config.js';
import { resolveTarget } from './targets.js';

const run = promisify(execFile);
let dir: string;
// ssh expands ~ and %d from the password database, not $HOME.
const home = userInfo().homedir;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ustart-ssh-config-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function write(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await mkdir(join(file, '..'), { recursive: true });
  await writeFile(file, text.replace(/@DIR@/g, dir));
  return file;
}

interface Seen {
  hostname: string;
  user: string;
  port: number;
  identityfiles: string[];
  proxyjump: string | undefined;
  proxycommand: boolean;
  stricthostkeychecking: string;
  userknownhostsfile: string[];
  identitiesonly: string;
}

/** What OpenSSH resolves: `ssh -G`, plus the identity files `ssh -v` loads. */
async function openssh(file: string, host: string): Promise<Seen> {
  const { stdout } = await run('ssh', ['-G', '-F', file, host]);
  const values = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    const i = line.indexOf(' ');
    if (i < 0) continue;
    const k = line.slice(0, i);
    values.set(k, [...(values.get(k) ?? []), line.slice(i + 1)]);
  }
  const first = (k: string) => values.get(k)?.[0];
  // ssh -v with a ProxyCommand that ends at once: it loads (and logs) the identity files
  // with ~ and tokens expanded, then fails the key exchange; nothing goes on the network.
  const verbose = await run(
    'ssh',
    ['-v', '-F', file, '-o', 'ProxyCommand=true', '-o', 'BatchMode=yes', host],
    { timeout: 20_000 },
  ).catch((e: { stderr: string }) => e);
  const identityfiles = [...verbose.stderr.matchAll(/^debug1: identity file (.*) type -?\d+$/gm)]
    .map((m) => m[1]!)
    .filter((f) => !f.endsWith('-cert'));
  expect(identityfiles.length, `ssh -v listed no identity files for ${host}`).toBeGreaterThan(0);
  return {
    hostname: first('hostname')!,
    user: first('user')!,
    port: Number(first('port')),
    identityfiles,
    proxyjump: first('proxyjump'),
    proxycommand: first('proxycommand') !== undefined,
    stricthostkeychecking: first('stricthostkeychecking')!,
    userknownhostsfile: first('userknownhostsfile')!.split(' '),
    identitiesonly: first('identitiesonly')!,
  };
}

const DEFAULT_IDS = [
  'id_rsa',
  'id_ecdsa',
  'id_ecdsa_sk',
  'id_ed25519',
  'id_ed25519_sk',
  'id_xmss',
  'id_dsa',
];

/** uStart's entry with OpenSSH's defaults filled in, printed as ssh -G prints it. */
function asOpenssh(host: string, e: SshConfigEntry): Seen {
  const lower = (h: string) => (isIP(h) ? h : h.toLowerCase());
  return {
    hostname: e.hostName ?? lower(host),
    user: e.user ?? userInfo().username,
    port: e.port ?? 22,
    identityfiles: e.identityFiles ?? DEFAULT_IDS.map((f) => join(home, '.ssh', f)),
    proxyjump: e.proxyJump,
    proxycommand: e.proxyCommand !== undefined,
    stricthostkeychecking: { yes: 'true', no: 'false', ask: 'ask', 'accept-new': 'accept-new' }[
      e.strictHostKeyChecking ?? 'ask'
    ],
    userknownhostsfile: e.userKnownHostsFiles ?? [
      join(home, '.ssh', 'known_hosts'),
      join(home, '.ssh', 'known_hosts2'),
    ],
    identitiesonly: e.identitiesOnly ? 'yes' : 'no',
  };
}

async function compare(file: string, hosts: string[]): Promise<SshConfigEntry[]> {
  const config = await SshConfig.load({ file, systemFile: null, home });
  const out: SshConfigEntry[] = [];
  for (const host of hosts) {
    const mine = config.lookup(host);
    expect(asOpenssh(host, mine), `${file} for ${host}`).toEqual(await openssh(file, host));
    out.push(mine);
  }
  return out;
}

describe('~/.ssh/config as OpenSSH reads it (compared with ssh -G)', () => {
  it('first value wins; Host patterns with *, ?, !negation; key=value; quotes; comments', async () => {
    const file = await write(
      'basic',
      `# a comment
Port=2201
Host web-?? "db *" !web-99
  HostName %h.Example.COM   # trailing comment
  User "deploy user"
  IdentityFile ~/.ssh/web_%h_%r_%u_%p_%%_%n
  IdentityFile=/keys/second
Host lit,comma
  User comma
Host web-*
  User=later
  Port 2299
  StrictHostKeyChecking accept-new
  IdentitiesOnly yes
Host *
  User fallback
  ProxyJump jump@bastion:2222
  UserKnownHostsFile ~/.ssh/kh_%h @DIR@/kh2
  StrictHostKeyChecking no
`,
    );
    const [web, web99, other, , , lit] = await compare(file, [
      'web-01',
      'web-99',
      'other',
      'db',
      'WEB-01',
      'lit',
    ]);
    expect(web!.user).toBe('deploy user');
    expect(web!.hostName).toBe('web-01.example.com');
    expect(web!.port).toBe(2201);
    expect(web99!.user).toBe('later');
    expect(other!.user).toBe('fallback');
    // Host takes one pattern per argument: a comma is a literal character (unlike Match).
    expect(lit!.user).toBe('fallback');
  });

  it('Match host, originalhost, user, localuser and all, with comma lists and negation', async () => {
    const file = await write(
      'match',
      `Host alias1
  HostName real1.lab
Match originalhost ALIAS1
  Port 2001
Match host real1.lab,!other user root
  User admin
Match host "*.lab" !user admin
  IdentityFile ~/.ssh/lab
Match user admin
  IdentitiesOnly yes
Match localuser ${userInfo().username} originalhost node-*
  Port 2002
Match !host node-7
  UserKnownHostsFile /tmp/never-%r
Match all
  ProxyJump none
  StrictHostKeyChecking yes
`,
    );
    await compare(file, ['alias1', 'node-7', 'node-8', 'x.lab', 'Node-7']);
  });

  it('Include: absolute, globbed (sorted), nested, parse-only inside an inactive block', async () => {
    await write('inc/10-a.conf', 'Host a*\n  User from-10\nHost *\n  Port 2010\n');
    await write('inc/20-b.conf', 'Host a1\n  User from-20\n  HostName a1.example\n');
    await write('inc/.hidden.conf', 'Host *\n  User hidden\n');
    await write('inc/nested/deep.conf', 'Match originalhost b*\n  IdentityFile @DIR@/deep_%h\n');
    const file = await write(
      'include',
      `Host b1 b2
  Include @DIR@/inc/nested/*.conf
  Port 2100
Include @DIR@/inc/*.conf @DIR@/missing/*.conf
Host c1
  Include @DIR@/inc/10-a.conf
Host *
  User last
`,
    );
    await compare(file, ['a1', 'a2', 'b1', 'c1', 'zz']);
  });

  it('Match final and canonical: a second reading with the resolved name; duplicate keys once', async () => {
    // As in Fedora's /etc/ssh/ssh_config.d/50-redhat.conf: `Match final all`.
    const file = await write(
      'final',
      `Host short
  HostName Long.Example
  IdentityFile ~/.ssh/first
Match canonical host long.example
  User canon
Match final host long.example
  Port 2300
  IdentityFile ~/.ssh/first
  IdentityFile ~/.ssh/final_%h
Match final all
  StrictHostKeyChecking accept-new
  User late
Match !final
  IdentitiesOnly yes
`,
    );
    const [short] = await compare(file, ['short', 'other']);
    expect(short).toMatchObject({ user: 'canon', port: 2300, strictHostKeyChecking: 'accept-new' });
    const noFinal = await write('no-final', 'Match canonical\n  User never\nHost *\n  Port 2\n');
    await compare(noFinal, ['x']);
  });

  it('ProxyJump chains and "none" are read as written', async () => {
    const file = await write(
      'jump',
      `Host chain
  ProxyJump a@j1:22,j2,[fe80::1]:2200
Host direct
  ProxyJump none
Host *
  ProxyJump fallback
`,
    );
    const [chain, direct] = await compare(file, ['chain', 'direct', 'else']);
    expect(chain!.proxyJump).toBe('a@j1:22,j2,[fe80::1]:2200');
    expect(direct!.proxyJump).toBeUndefined();
  });
});

describe('ProxyCommand', () => {
  it('ProxyJump or ProxyCommand: the first wins; ProxyCommand none holds off a ProxyJump, not the reverse', async () => {
    const file = await write(
      'proxy',
      `Host cmd-first
  ProxyCommand nc %h %p
  ProxyJump j1
Host jump-first
  ProxyJump j2
  ProxyCommand nc x 1
Host cmd-none
  ProxyCommand none
  ProxyJump j3
Host jump-none
  ProxyJump none
  ProxyCommand nc y 2
`,
    );
    const [a, b, c, d] = await compare(file, ['cmd-first', 'jump-first', 'cmd-none', 'jump-none']);
    expect([a!.proxyCommand, a!.proxyJump]).toEqual(['nc %h %p', undefined]);
    expect([b!.proxyCommand, b!.proxyJump]).toEqual([undefined, 'j2']);
    expect([c!.proxyCommand, c!.proxyJump]).toEqual([undefined, undefined]);
    expect([d!.proxyCommand, d!.proxyJump]).toEqual(['nc y 2', undefined]);
  });

  it('a host reached through a ProxyCommand is refused (not reached directly), naming the line', async () => {
    const file = await write('proxy-refuse', 'Host behind\n  ProxyCommand nc %h %p\n');
    const config = await SshConfig.load({ file, systemFile: null, home });
    const host = { name: 'behind', defaultUser: 'root' };
    expect(() => resolveTarget(host, config)).toThrow(
      /proxy-refuse line 2: ProxyCommand nc %h %p \(for behind\): uStart's SSH client cannot run a ProxyCommand/,
    );
    // A jump host given explicitly replaces it, as ssh -J does.
    const jumped = resolveTarget({ ...host, jumpHost: { address: 'j' } }, config);
    expect(jumped.jump?.name).toBe('j');
  });
});

describe('what uStart refuses, naming the file and line', () => {
  it('Match exec and unknown criteria', async () => {
    for (const [line, want] of [
      ['Match exec "test -f /x"', /match-bad line 2: Match exec runs a command/],
      ['Match tagged x', /match-bad line 2: Match tagged is not a Match criterion/],
    ] as const) {
      const file = await write('match-bad', `Host *\n${line}\n  User x\n`);
      const config = await SshConfig.load({ file, systemFile: null, home });
      expect(() => config.lookup('h')).toThrow(want);
    }
    // An exec after a failed criterion is skipped, as OpenSSH skips it.
    const file = await write('match-skip', 'Match host other exec "false"\n  User x\n');
    const config = await SshConfig.load({ file, systemFile: null, home });
    expect(config.lookup('h').user).toBeUndefined();
  });

  it('an unknown token and broken quotes', async () => {
    const file = await write('bad-token', 'Host *\n  IdentityFile ~/.ssh/%Z\n');
    const config = await SshConfig.load({ file, systemFile: null, home });
    expect(() => config.lookup('h')).toThrow(/bad-token line 2: %Z in "~\/.ssh\/%Z"/);
    const quotes = await write('bad-quotes', 'Host "a\n');
    await expect(SshConfig.load({ file: quotes, systemFile: null, home })).rejects.toThrow(
      /bad-quotes line 1: invalid quotes/,
    );
  });

  it('a relative Include is read from ~/.ssh (the home given)', async () => {
    const fakeHome = join(dir, 'home');
    await write('home/.ssh/conf.d/x.conf', 'Host *\n  User relative\n');
    const file = await write('home/.ssh/config', 'Include conf.d/*.conf\n');
    const config = await SshConfig.load({ file, systemFile: null, home: fakeHome });
    expect(config.lookup('h').user).toBe('relative');
  });
});
