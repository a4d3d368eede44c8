/**
 * umetal.host-network on real 802.1Q VLANs and bonds: two QEMU guests running Debian's kernel
 * (this machine's kernel has neither VLANs nor bonding; test/support/qemu-guest.ts), linked
 * NIC to NIC (three links: eth0, eth1, eth2), every frame of the guest `guest-0`'s NICs
 * recorded to pcap files by QEMU and read back here.
 *
 * Each guest gets, as the engine would upload them, the files the runbook renders for it
 * from a plan (lib.sh, its env, the step's scripts, the links table, the netplan file, the
 * uploads marker) and runs the step's own check and run commands in the engine's order:
 * check, and when it fails, the uploads, then the run. What is not the engine's: no SSH and
 * no sudo (the commands arrive on the serial console and run as root).
 *
 * Proven here:
 * - the storage network as VLAN 200 on eth0 with MTU 9000: the step loads 8021q itself,
 *   builds `eth0.200`, a second run is skipped by the check; don't-fragment pings with 8972
 *   bytes cross both ways, and on the wire each such frame is 9018 bytes (14 Ethernet + 4
 *   tag + 9000) tagged with VLAN id 200; one byte more is refused by the sender and never on
 *   the wire;
 * - a guest rendered from a plan with another VLAN (201) gets no reply, and its frames carry
 *   201: the tag, not luck, decides what reaches whom; the reset removes the VLAN;
 * - a bond (active-backup, `bond0` of eth1 and eth2, the step loads `bonding`) carrying VLAN
 *   200 at MTU 9000: jumbo frames cross tagged on the active member's link, and after that
 *   link's cable is cut (QEMU set_link on both ends) on the other member's link.
 *
 * Not proven: 802.3ad (LACP needs a partner that speaks it; two guests linked back to back
 * are not a switch with a LAG), a real switch's VLAN and MTU configuration, netplan reading
 * the persisted file at boot (no netplan in the guest; its file is checked by the render's
 * tests and by netplan-related rows of docs/upstream-facts.md).
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Plan } from '../../src/plan/schema.js';
import { RULES, validatePlan } from '../../src/plan/validate/index.js';
import { Renderer } from '../../src/render/render.js';
import { loadSiteRunbook, toStepSpecs } from '../../src/render/step-specs.js';
import { labPlan } from '../lab/plan.js';
import type { CpioEntry } from '../../src/util/cpio.js';
import {
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  parseEthernet,
  parseIcmp4,
  readPcap,
  LINKTYPE_ETHERNET,
  type EthernetFrame,
} from '../support/pcap.js';
import {
  bootGuest,
  guestsAvailable,
  prepareGuestImage,
  type Guest,
} from '../support/qemu-guest.js';

const available = guestsAvailable();
const STEP = 'umetal.host-network';
const RESET = 'reset-umetal.host-network';
const MGMT = '172.30.76';
const STORAGE = '172.30.77';
const HOSTS = ['guest-0', 'guest-1'] as const;
/** 8972 bytes of ICMP payload + 8 ICMP + 20 IPv4 = 9000, the planned MTU. */
const JUMBO_PAYLOAD = 8972;
/** On the wire: 14 bytes of Ethernet header + 4 of 802.1Q tag + the 9000-byte IPv4 packet. */
const JUMBO_FRAME = JUMBO_PAYLOAD + 28 + 14 + 4;

type Variant = 'vlan' | 'vlan-201' | 'bond';

/** The site plan for the two guests; `variant` says how the storage network reaches them. */
function planFor(variant: Variant): Plan {
  const plan = labPlan({
    id: 'qemu',
    subnet: `${MGMT}.0/24`,
    user: 'root',
    hosts: HOSTS.map((hostname, i) => ({
      hostname,
      address: `${MGMT}.${10 + i}`,
      port: 22,
      role: 'controller' as const,
    })),
  });
  // Ubuntu's netplan file needs no package; Debian's ifupdown would be installed with apt.
  plan.site.osRelease = 'ubuntu-24.04';
  plan.networks.push({
    name: 'storage',
    purpose: 'storage',
    vlan: variant === 'vlan-201' ? 201 : 200,
    cidr: `${STORAGE}.0/24`,
    mtu: 9000,
  });
  plan.servers.forEach((s, i) => {
    s.addresses.storage = `${STORAGE}.${10 + i}`;
    const members = [1, 2].map((k) => ({
      name: `eth${k}`,
      mac: `02:00:00:0${k}:00:0${i}`,
      speedGbps: 25,
    }));
    if (variant === 'bond') {
      s.nics.push(...members);
      s.bonds = [
        { name: 'bond0', mode: 'active-backup', members: ['eth1', 'eth2'], tagged: ['storage'] },
      ];
    } else {
      s.nics[0] = { ...s.nics[0]!, tagged: ['storage'], mtu: 9000 };
    }
  });
  return Plan.parse(plan);
}

/** The MACs of a guest's eth0, eth1, eth2, from the plans (eth1/eth2 exist in the bond's). */
function macsOf(index: number): string[] {
  const bond = planFor('bond').servers[index]!;
  return ['eth0', 'eth1', 'eth2'].map((n) => bond.nics.find((x) => x.name === n)!.mac);
}

/**
 * What the engine would upload to `host` for a step rendered from `plan`, and the step's
 * check and run commands, as files under /variants/<variant>/<step>/ in the guest.
 */
async function variantFiles(variant: Variant, plan: Plan, host: string): Promise<CpioEntry[]> {
  const rules = RULES.filter((r) => r.family === 'host-network' || r.family === 'addresses');
  const errors = validatePlan(plan, rules).filter((f) => f.severity === 'error');
  expect(errors, `the ${variant} plan carries its networks validly`).toEqual([]);
  const renderer = await Renderer.create(plan, await loadSiteRunbook());
  const entries: CpioEntry[] = [];
  for (const [phase, id] of [
    ['umetal', STEP],
    ['reset-umetal', RESET],
  ] as const) {
    const spec = toStepSpecs(renderer, [phase]).find((s) => s.id === id)!;
    const dir = `/variants/${variant}/${id}`;
    entries.push(
      { kind: 'file', path: `${dir}/check`, mode: 0o644, data: `${spec.check!}\n` },
      { kind: 'file', path: `${dir}/run`, mode: 0o644, data: `${spec.run}\n` },
    );
    for (const u of spec.uploads ?? []) {
      if (u.hosts && !u.hosts.includes(host)) continue;
      expect(u.content, `${u.path} is rendered content`).toBeDefined();
      entries.push({ kind: 'file', path: `${dir}/root${u.path}`, mode: u.mode!, data: u.content! });
    }
  }
  return entries;
}

describe.skipIf(!available)('host networking on real VLANs and bonds, in 2 QEMU guests', () => {
  let tmp: string;
  const guests: Guest[] = [];
  const pcap = (link: number) => join(tmp, `guest-0.eth${link}.pcap`);
  /** Records already looked at, per link: each test reads only the frames of its own time. */
  const seen = [0, 0, 0];

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'ustart-vlan-qemu-'));
    const image = await prepareGuestImage();
    const files = await Promise.all(
      HOSTS.map(async (host) => {
        const all: CpioEntry[] = [];
        for (const v of ['vlan', 'vlan-201', 'bond'] as const) {
          all.push(...(await variantFiles(v, planFor(v), host)));
        }
        return all;
      }),
    );
    const booted = await Promise.allSettled(
      HOSTS.map((name, i) =>
        bootGuest({
          image,
          name,
          dir: tmp,
          nics: macsOf(i).map((mac, link) => ({
            mac,
            local: join(tmp, `${name}.eth${link}.sock`),
            remote: join(tmp, `${HOSTS[1 - i]}.eth${link}.sock`),
            ...(i === 0 ? { pcap: pcap(link) } : {}),
          })),
          // As the OS installer left it: the management address, and the MTU the plan's
          // VLAN on eth0 needs (uStart only checks it).
          management: { nic: 'eth0', address: `${MGMT}.${10 + i}/24`, mtu: 9000 },
          files: files[i],
        }),
      ),
    );
    for (const b of booted) if (b.status === 'fulfilled') guests.push(b.value);
    const failed = booted.find((b) => b.status === 'rejected');
    if (failed) throw failed.reason;
  }, 240_000);

  afterAll(async () => {
    const pids = guests.map((g) => g.pid);
    for (const g of guests.splice(0)) await g.dispose();
    for (const pid of pids) {
      if (pid !== undefined) expect(() => process.kill(pid, 0), `QEMU ${pid} is gone`).toThrow();
    }
    if (tmp) {
      // No QEMU of this test is left (each one's command line names the temp folder).
      const left = spawnSync('pgrep', ['-f', '--', tmp], { encoding: 'utf8' });
      expect(left.stdout, 'QEMU processes left').toBe('');
      await rm(tmp, { recursive: true, force: true });
    }
  });

  const [a, b] = [0, 1].map((i) => ({
    get guest() {
      return guests[i]!;
    },
    mac: (link: number) => macsOf(i)[link]!,
    storage: `${STORAGE}.${10 + i}`,
  })) as [
    { guest: Guest; mac: (l: number) => string; storage: string },
    { guest: Guest; mac: (l: number) => string; storage: string },
  ];

  const sh = async (g: Guest, command: string) => {
    const r = await g.run(command);
    expect(r.code, `${g.name}: ${command}: ${r.output}`).toBe(0);
    return r.output;
  };

  /** One host-step as the engine runs it: check; when it fails, the uploads, then the run. */
  async function step(g: Guest, variant: Variant, id: string) {
    const dir = `/variants/${variant}/${id}`;
    const check = await g.run(`bash ${dir}/check`);
    if (check.code === 0) return { state: 'skipped', output: check.output };
    await sh(g, `cp -a ${dir}/root/. /`);
    const r = await g.run(`bash ${dir}/run`);
    return { state: r.code === 0 ? 'succeeded' : 'failed', output: r.output };
  }

  // -i 0.2: the shortest interval ping allows every user; -W: how long to wait for a reply.
  const ping = (g: Guest, to: string, size: number, count = 3) =>
    g.run(`ping -n -q -M do -s ${size} -c ${count} -i 0.2 -W 2 ${to}`);

  /** The frames recorded on one of guest-0's links since the last call for that link. */
  async function newFrames(link: number): Promise<EthernetFrame[]> {
    const { linkType, records } = readPcap(await readFile(pcap(link)));
    expect(linkType).toBe(LINKTYPE_ETHERNET);
    const fresh = records.slice(seen[link]);
    seen[link] = records.length;
    for (const r of fresh) expect(r.data.length, 'each frame is captured whole').toBe(r.length);
    return fresh.map((r) => parseEthernet(r.data));
  }

  /** ICMP echo requests (8) or replies (0) from one MAC to another, with their frame sizes. */
  const echoes = (frames: EthernetFrame[], src: string, dst: string, type: 0 | 8) =>
    frames.filter(
      (f) =>
        f.src === src &&
        f.dst === dst &&
        f.etherType === ETHERTYPE_IPV4 &&
        parseIcmp4(f.payload)?.type === type,
    );

  it('the guests have the NICs and MACs of the plan, and the storage network is not there yet', async () => {
    for (const [i, g] of guests.entries()) {
      for (const link of [0, 1, 2]) {
        expect(await sh(g, `cat /sys/class/net/eth${link}/address`)).toBe(macsOf(i)[link]);
      }
      expect(await sh(g, 'ls /sys/class/net')).not.toMatch(/eth0\.200|bond0/);
      // The guest kernel is Debian's, with modules (not this machine's -fc kernel).
      expect(await sh(g, 'uname -r')).toMatch(/-amd64$/);
    }
  });

  it(
    'the step builds VLAN 200 at MTU 9000, and 9000-byte frames cross it tagged with 200',
    { timeout: 90_000 },
    async () => {
      for (const g of guests) {
        const run = await step(g, 'vlan', STEP);
        expect(run.state, `${g.name}: ${run.output}`).toBe('succeeded');
        expect(run.output).toContain('loaded kernel module 8021q');
        expect(run.output).toContain('creating VLAN 200 on eth0 as eth0.200');
        const again = await step(g, 'vlan', STEP);
        expect(again.state, `${g.name}: a second run: ${again.output}`).toBe('skipped');
        const link = await sh(g, 'ip -d -o link show dev eth0.200');
        expect(link).toContain('vlan protocol 802.1Q id 200');
        expect(link).toContain('mtu 9000');
      }
      expect(await sh(a.guest, 'ip -o -4 addr show dev eth0.200')).toContain(
        `inet ${a.storage}/24`,
      );
      await newFrames(0);

      for (const [from, to] of [
        [a, b],
        [b, a],
      ] as const) {
        const jumbo = await ping(from.guest, to.storage, JUMBO_PAYLOAD);
        expect(jumbo.code, jumbo.output).toBe(0);
        expect(jumbo.output).toContain('3 received');
      }
      // One byte more does not fit the planned MTU: with don't-fragment the sender refuses it
      // (docs/upstream-facts.md#iputils-ping-local-error).
      const over = await a.guest.run(
        `ping -n -M do -s ${JUMBO_PAYLOAD + 1} -c 1 -W 2 ${b.storage}`,
      );
      expect(over.code, over.output).not.toBe(0);
      expect(over.output).toMatch(/message too long, mtu ?= ?9000/i);

      const frames = await newFrames(0);
      const between = frames.filter(
        (f) =>
          (f.src === a.mac(0) && f.dst === b.mac(0)) || (f.src === b.mac(0) && f.dst === a.mac(0)),
      );
      expect(between.length).toBeGreaterThanOrEqual(12);
      // Every frame between the two guests' NICs in that time carries VLAN id 200.
      expect(between.filter((f) => f.vlan?.id !== 200)).toEqual([]);
      for (const [src, dst] of [
        [a.mac(0), b.mac(0)],
        [b.mac(0), a.mac(0)],
      ] as const) {
        for (const type of [8, 0] as const) {
          const got = echoes(frames, src, dst, type);
          // Both pings' requests and replies went both ways, each of the full jumbo size.
          expect(got.length, `echo type ${type} ${src} → ${dst}`).toBe(3);
          for (const f of got) {
            expect(f.length).toBe(JUMBO_FRAME);
            expect(f.vlan).toEqual({ id: 200, priority: 0 });
            // One whole 9000-byte packet, never fragments; the request with don't-fragment
            // (Linux answers an echo without it: docs/upstream-facts.md#linux-icmp-reply-df).
            expect(parseIcmp4(f.payload)).toMatchObject({ fragment: false, totalLength: 9000 });
            if (type === 8) expect(parseIcmp4(f.payload)?.dontFragment).toBe(true);
          }
        }
      }
      // The refused probe never reached the wire.
      expect(Math.max(...frames.map((f) => f.length))).toBe(JUMBO_FRAME);
    },
  );

  it(
    'a guest rendered with VLAN 201 gets no reply: its frames carry 201, the other 200',
    { timeout: 90_000 },
    async () => {
      const reset = await step(b.guest, 'vlan', RESET);
      expect(reset.state, reset.output).toBe('succeeded');
      expect(reset.output).toContain('removing eth0.200');
      expect(await sh(b.guest, 'ls /sys/class/net')).not.toContain('eth0.200');
      const run = await step(b.guest, 'vlan-201', STEP);
      expect(run.state, run.output).toBe('succeeded');
      expect(await sh(b.guest, 'ip -d -o link show dev eth0.201')).toContain(
        'vlan protocol 802.1Q id 201',
      );
      await newFrames(0);

      const there = await ping(a.guest, b.storage, 56, 2);
      expect(there.code).not.toBe(0);
      expect(there.output).toContain('0 received');
      const back = await ping(b.guest, a.storage, 56, 2);
      expect(back.code).not.toBe(0);

      const frames = await newFrames(0);
      const fromA = frames.filter((f) => f.src === a.mac(0) && f.vlan);
      const fromB = frames.filter((f) => f.src === b.mac(0) && f.vlan);
      expect(fromA.length).toBeGreaterThan(0);
      expect(fromB.length).toBeGreaterThan(0);
      expect(new Set(fromA.map((f) => f.vlan!.id))).toEqual(new Set([200]));
      expect(new Set(fromB.map((f) => f.vlan!.id))).toEqual(new Set([201]));
      // Both asked (ARP, echo requests); nobody answered across the VLANs.
      expect(
        fromA.some((f) => f.etherType === ETHERTYPE_ARP || f.etherType === ETHERTYPE_IPV4),
      ).toBe(true);
      expect(fromB.some((f) => f.etherType === ETHERTYPE_ARP)).toBe(true);
      expect(echoes(frames, a.mac(0), b.mac(0), 0)).toEqual([]);
      expect(echoes(frames, b.mac(0), a.mac(0), 0)).toEqual([]);
    },
  );

  it(
    'a bond (active-backup of eth1 and eth2) carries VLAN 200 at MTU 9000, and fails over',
    { timeout: 120_000 },
    async () => {
      for (const [g, variant] of [
        [a.guest, 'vlan'],
        [b.guest, 'vlan-201'],
      ] as const) {
        const reset = await step(g, variant, RESET);
        expect(reset.state, reset.output).toBe('succeeded');
      }
      // On guest-1 something loaded bonding before, with its defaults: an empty bond0 in
      // balance-rr is there (max_bonds=1), as on a host without systemd's modprobe.d.
      await sh(b.guest, 'modprobe bonding && test -d /sys/class/net/bond0');
      for (const g of guests) {
        const run = await step(g, 'bond', STEP);
        expect(run.state, `${g.name}: ${run.output}`).toBe('succeeded');
        if (g === a.guest) {
          // The step loads bonding without that bond0, and makes its own.
          expect(run.output).toContain('loaded kernel module bonding');
          expect(run.output).toContain('creating bond bond0 (active-backup) of eth1 eth2');
        } else {
          expect(run.output).toContain(
            'bond bond0: mode active-backup (it was balance-rr, with no members)',
          );
        }
        expect(run.output).toContain('creating VLAN 200 on bond0 as bond0.200');
        expect(await sh(g, 'cat /sys/class/net/bond0/bonding/mode')).toBe('active-backup 1');
        const vlan = await sh(g, 'ip -d -o link show dev bond0.200');
        expect(vlan).toContain('vlan protocol 802.1Q id 200');
        expect(vlan).toContain('mtu 9000');
        expect(await sh(g, 'ls /sys/class/net')).not.toMatch(/eth0\.20[01]/);
        const again = await step(g, 'bond', STEP);
        expect(again.state, again.output).toBe('skipped');
      }
      const bondMac = async (g: Guest) => (await sh(g, 'cat /sys/class/net/bond0/address')).trim();
      const [macA, macB] = [await bondMac(a.guest), await bondMac(b.guest)];
      // The first member is active; the bond takes its MAC (the plan's eth1) and gives it to
      // every member (docs/upstream-facts.md#linux-bonding-active-backup).
      expect(macA).toBe(a.mac(1));
      expect(await sh(a.guest, 'cat /sys/class/net/bond0/bonding/active_slave')).toBe('eth1');
      await Promise.all([newFrames(1), newFrames(2)]);

      const crossesOn = async (link: number) => {
        const jumbo = await ping(a.guest, b.storage, JUMBO_PAYLOAD);
        expect(jumbo.code, jumbo.output).toBe(0);
        const frames = await newFrames(link);
        for (const [src, dst, type] of [
          [macA, macB, 8],
          [macB, macA, 0],
        ] as const) {
          const got = echoes(frames, src, dst, type);
          expect(got.length, `link eth${link}: echo type ${type}`).toBe(3);
          for (const f of got) {
            expect(f.length).toBe(JUMBO_FRAME);
            expect(f.vlan?.id).toBe(200);
          }
        }
        return frames;
      };
      await crossesOn(1);
      expect(echoes(await newFrames(2), macA, macB, 8)).toEqual([]);

      // The cable of link 1 is cut (both ends lose carrier): both bonds go to eth2.
      await Promise.all(guests.map((g) => g.setLink(1, false)));
      for (const g of guests) {
        const r = await g.run(
          'timeout 20 bash -c "until [[ $(cat /sys/class/net/bond0/bonding/active_slave) == eth2 ]]; do sleep 0.2; done"',
        );
        expect(r.code, `${g.name}: bond0 fails over to eth2: ${r.output}`).toBe(0);
      }
      await crossesOn(2);
      expect(echoes(await newFrames(1), macA, macB, 8)).toEqual([]);
      await Promise.all(guests.map((g) => g.setLink(1, true)));

      for (const g of guests) {
        const reset = await step(g, 'bond', RESET);
        expect(reset.state, reset.output).toBe('succeeded');
        expect(await sh(g, 'ls /sys/class/net')).not.toMatch(/bond0/);
      }
    },
  );
});
