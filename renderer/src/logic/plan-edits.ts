/**
 * Plan edits that touch more than one field: renaming or deleting a network with every
 * reference to it, and adding NICs or disks to many servers at once. They change the plan
 * they are given in place, so the stores call them inside `usePlanStore.edit` (an immer
 * draft) and the tests through immer's `produce`.
 *
 * Where a network's name is referenced (src/plan/schema.ts): `servers[].nics[].network` and
 * `.tagged`, `servers[].bonds[].network` and `.tagged`, the keys of `servers[].addresses`, and
 * acknowledgements whose JSON pointer names an address (`/servers/3/addresses/storage`) or
 * a network by index (`/networks/2/gateway`).
 */
import type { Plan } from '../../../src/api';

type Server = Plan['servers'][number];
type Nic = Server['nics'][number];
type Disk = Server['disks'][number];

/** One place in the plan that names a network. */
export interface NetworkUse {
  kind: 'nic' | 'nic-tagged' | 'bond' | 'bond-tagged' | 'address' | 'acknowledgement';
  /** The server holding the reference; absent for an acknowledgement. */
  server?: string;
  /** The NIC or bond name, the address, or the acknowledged rule. */
  name: string;
  /** JSON pointer of the referencing field. */
  path: string;
}

const escape = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** The JSON pointer prefix of server `i`'s address on network `name`. */
const addressPath = (i: number, name: string) => `/servers/${i}/addresses/${escape(name)}`;

/** True when `path` is `prefix` or lies under it. */
const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);

/** Every place that names network `name`, in plan order. */
export function networkUses(plan: Plan, name: string): NetworkUse[] {
  const uses: NetworkUse[] = [];
  plan.servers.forEach((s, i) => {
    s.nics.forEach((n, j) => {
      if (n.network === name)
        uses.push({
          kind: 'nic',
          server: s.hostname,
          name: n.name,
          path: `/servers/${i}/nics/${j}/network`,
        });
      if (n.tagged?.includes(name))
        uses.push({
          kind: 'nic-tagged',
          server: s.hostname,
          name: n.name,
          path: `/servers/${i}/nics/${j}/tagged`,
        });
    });
    s.bonds?.forEach((b, j) => {
      if (b.network === name)
        uses.push({
          kind: 'bond',
          server: s.hostname,
          name: b.name,
          path: `/servers/${i}/bonds/${j}/network`,
        });
      if (b.tagged?.includes(name))
        uses.push({
          kind: 'bond-tagged',
          server: s.hostname,
          name: b.name,
          path: `/servers/${i}/bonds/${j}/tagged`,
        });
    });
    const address = s.addresses[name];
    if (address !== undefined)
      uses.push({ kind: 'address', server: s.hostname, name: address, path: addressPath(i, name) });
  });
  plan.acknowledgements?.forEach((a, k) => {
    if (a.path !== undefined && acknowledgesAddressOn(plan, a.path, name))
      uses.push({ kind: 'acknowledgement', name: a.rule, path: `/acknowledgements/${k}/path` });
  });
  return uses;
}

function acknowledgesAddressOn(plan: Plan, path: string, name: string): boolean {
  return plan.servers.some((_, i) => under(path, addressPath(i, name)));
}

/**
 * Why `name` cannot be the name of network `index`, or undefined when it can: empty, or the
 * name of another network.
 */
export function networkNameProblem(
  plan: Plan,
  index: number,
  name: string,
): 'empty' | 'taken' | undefined {
  const trimmed = name.trim();
  if (trimmed === '') return 'empty';
  if (plan.networks.some((n, i) => i !== index && n.name === trimmed)) return 'taken';
  return undefined;
}

/** True when a network other than `index` also has the name of network `index`. */
function shared(plan: Plan, index: number): boolean {
  const name = plan.networks[index]?.name;
  return plan.networks.some((n, i) => i !== index && n.name === name);
}

/**
 * Renames network `index` to `to` and every reference to it. When another network has the
 * same old name (a duplicate the validation reports), references stay: they cannot be told
 * apart. The caller checks `networkNameProblem` first; a problem here throws.
 */
export function renameNetwork(plan: Plan, index: number, to: string): void {
  const network = plan.networks[index];
  if (!network) throw new Error(`no network at index ${index}`);
  const name = to.trim();
  const problem = networkNameProblem(plan, index, name);
  if (problem) throw new Error(`cannot rename network "${network.name}" to "${to}": ${problem}`);
  const from = network.name;
  if (from === name) return;
  const keepReferences = shared(plan, index);
  network.name = name;
  if (keepReferences) return;
  const swap = (list: string[] | undefined) => list?.map((n) => (n === from ? name : n));
  plan.servers.forEach((s, i) => {
    for (const link of [...s.nics, ...(s.bonds ?? [])]) {
      if (link.network === from) link.network = name;
      if (link.tagged?.includes(from)) link.tagged = swap(link.tagged);
    }
    if (from in s.addresses) {
      // Rebuilt so the address keeps its place among the others (the YAML keeps key order).
      s.addresses = Object.fromEntries(
        Object.entries(s.addresses).map(([k, v]) => [k === from ? name : k, v]),
      );
    }
    const oldPrefix = addressPath(i, from);
    for (const a of plan.acknowledgements ?? []) {
      if (a.path !== undefined && under(a.path, oldPrefix))
        a.path = addressPath(i, name) + a.path.slice(oldPrefix.length);
    }
  });
}

/**
 * Deletes network `index` and every reference to it (NICs and bonds stop carrying it,
 * addresses on it go, acknowledgements of its fields go); acknowledgements of later networks
 * move down with them. References stay when another network keeps the same name.
 */
export function deleteNetwork(plan: Plan, index: number): void {
  const network = plan.networks[index];
  if (!network) throw new Error(`no network at index ${index}`);
  const name = network.name;
  const keepReferences = shared(plan, index);
  plan.networks.splice(index, 1);
  if (!keepReferences) {
    for (const s of plan.servers) {
      for (const link of [...s.nics, ...(s.bonds ?? [])]) {
        if (link.network === name) delete link.network;
        if (link.tagged?.includes(name)) {
          const rest = link.tagged.filter((n) => n !== name);
          if (rest.length) link.tagged = rest;
          else delete link.tagged;
        }
      }
      delete s.addresses[name];
    }
  }
  if (!plan.acknowledgements) return;
  const gone = `/networks/${index}`;
  plan.acknowledgements = plan.acknowledgements.filter((a) => {
    if (a.path === undefined) return true;
    if (under(a.path, gone)) return false;
    return keepReferences || !acknowledgesAddressOn(plan, a.path, name);
  });
  for (const a of plan.acknowledgements) {
    const m = a.path === undefined ? null : /^\/networks\/(\d+)(\/.*)?$/.exec(a.path);
    if (m && Number(m[1]) > index) a.path = `/networks/${Number(m[1]) - 1}${m[2] ?? ''}`;
  }
}

/** A name for a new network that no network has yet: `net-N`. */
export function freshNetworkName(plan: Plan): string {
  let n = plan.networks.length + 1;
  while (plan.networks.some((x) => x.name === `net-${n}`)) n++;
  return `net-${n}`;
}

/** What a bulk edit did: the servers changed, and those left alone with why. */
export interface BulkResult {
  changed: string[];
  skipped: { server: string; reason: 'exists' | 'no-mac' }[];
}

/**
 * Adds a NIC `template` to each server in `indices`, with that server's MAC from `macs`
 * (a NIC's MAC is what the host's network configuration matches on, so it is never made up).
 * A server that already has a NIC of that name, or has no MAC given, is skipped.
 */
export function addNics(
  plan: Plan,
  indices: Iterable<number>,
  template: Omit<Nic, 'mac'>,
  macs: ReadonlyMap<number, string>,
): BulkResult {
  const result: BulkResult = { changed: [], skipped: [] };
  for (const i of indices) {
    const s = plan.servers[i];
    if (!s) continue;
    const mac = macs.get(i)?.trim() ?? '';
    if (s.nics.some((n) => n.name === template.name))
      result.skipped.push({ server: s.hostname, reason: 'exists' });
    else if (mac === '') result.skipped.push({ server: s.hostname, reason: 'no-mac' });
    else {
      s.nics.push({
        ...template,
        mac,
        ...(template.tagged ? { tagged: [...template.tagged] } : {}),
      });
      result.changed.push(s.hostname);
    }
  }
  return result;
}

/** Adds `disk` to each server in `indices` that has no disk of that device yet. */
export function addDisks(plan: Plan, indices: Iterable<number>, disk: Disk): BulkResult {
  const result: BulkResult = { changed: [], skipped: [] };
  for (const i of indices) {
    const s = plan.servers[i];
    if (!s) continue;
    if (s.disks.some((d) => d.device === disk.device))
      result.skipped.push({ server: s.hostname, reason: 'exists' });
    else {
      s.disks.push({ ...disk });
      result.changed.push(s.hostname);
    }
  }
  return result;
}

/** Renames a server's NIC, and its name among the members of the server's bonds. */
export function renameNic(server: Server, index: number, to: string): void {
  const nic = server.nics[index];
  if (!nic) return;
  const from = nic.name;
  nic.name = to;
  if (server.nics.some((n, j) => j !== index && n.name === from)) return;
  for (const b of server.bonds ?? []) b.members = b.members.map((m) => (m === from ? to : m));
}

/** Removes a server's NIC and its membership in the server's bonds. */
export function removeNic(server: Server, index: number): void {
  const [nic] = server.nics.splice(index, 1);
  if (!nic || server.nics.some((n) => n.name === nic.name)) return;
  for (const b of server.bonds ?? []) b.members = b.members.filter((m) => m !== nic.name);
}

/** The bond a NIC is a member of, by name. */
export function bondOf(server: Server, nicName: string): string | undefined {
  return server.bonds?.find((b) => b.members.includes(nicName))?.name;
}

/**
 * Makes NIC `index` a member of bond `bond` (or of none). A member carries no network of
 * its own (the bond carries them, src/plan/schema.ts `Nic.network`), so joining clears them.
 */
export function setNicBond(server: Server, index: number, bond: string | undefined): void {
  const nic = server.nics[index];
  if (!nic) return;
  for (const b of server.bonds ?? []) {
    const member = b.members.includes(nic.name);
    if (b.name === bond && !member) b.members.push(nic.name);
    if (b.name !== bond && member) b.members = b.members.filter((m) => m !== nic.name);
  }
  if (bond !== undefined) {
    delete nic.network;
    delete nic.tagged;
  }
}
