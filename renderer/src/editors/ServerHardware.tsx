import type { ReactNode } from 'react';
import { BOND_MODES, DISK_TYPES, DISK_USES, type Plan } from '../../../src/api';
import { isNumber } from '../components/Field';
import { bondOf, removeNic, renameNic, setNicBond } from '../logic/plan-edits';
import { usePlanStore } from '../state/plan-store';
import { PlanInput, PlanSelect, findingMarks, useFindingsAt } from './PlanInput';
import { useEditorT } from './texts';
import './editors.css';

type Server = Plan['servers'][number];
type Disk = Server['disks'][number];
type Bond = NonNullable<Server['bonds']>[number];

/** Edits server `index` of the plan being edited. */
const editServer = (index: number, recipe: (s: Server) => void, key?: string) =>
  usePlanStore.getState().edit((d) => recipe(d.servers[index]!), key);

/** Comma-separated names as a list; empty text is no list. */
const names = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The findings of a whole list (`/servers/7/nics`), shown above the list's table. */
function ListFindings({ path }: { path: string }) {
  const all = useFindingsAt(path);
  const own = all.filter((f) => f.path === path);
  if (!own.length) return null;
  return (
    <ul className="list-findings" data-testid={`findings-${path}`}>
      {own.map((f, i) => (
        <li key={i} className={`finding ${f.severity}`}>
          {f.message}
        </li>
      ))}
    </ul>
  );
}

/** A row's last cell: the × that removes the row. */
function RemoveCell({ label, onRemove }: { label: string; onRemove: () => void }) {
  return (
    <td>
      <button type="button" aria-label={label} onClick={onRemove}>
        ×
      </button>
    </td>
  );
}

/** The networks a NIC or bond carries tagged, comma-separated; none clears the field. */
function TaggedInput(props: {
  path: string;
  label: string;
  tagged: readonly string[] | undefined;
  commit: (list: string[] | undefined) => void;
}) {
  return (
    <PlanInput
      path={props.path}
      label={props.label}
      value={(props.tagged ?? []).join(', ')}
      size={12}
      commitOn="blur"
      commit={(v) => {
        const list = names(v);
        props.commit(list.length ? list : undefined);
      }}
    />
  );
}

/**
 * One list of a server's hardware: its heading, the list's own findings, the table (its
 * header cells, then the rows; a last empty header over the remove buttons) and the button
 * that adds an entry, which carries the list's path so a finding on the list can land on it.
 */
function HardwareList(props: {
  title: string;
  path: string;
  tableTestId: string;
  showTable?: boolean;
  headers: ReactNode;
  addTestId: string;
  addLabel: string;
  onAdd: () => void;
  children: ReactNode;
}) {
  return (
    <>
      <h4>{props.title}</h4>
      <ListFindings path={props.path} />
      {(props.showTable ?? true) && (
        <table className="hw-table" data-testid={props.tableTestId}>
          <thead>
            <tr>
              {props.headers}
              <th />
            </tr>
          </thead>
          <tbody>{props.children}</tbody>
        </table>
      )}
      <button
        type="button"
        data-path={props.path}
        data-testid={props.addTestId}
        onClick={props.onAdd}
      >
        {props.addLabel}
      </button>
    </>
  );
}

function NicRows({ plan, index }: { plan: Plan; index: number }) {
  const t = useEditorT();
  const server = plan.servers[index]!;
  const base = `/servers/${index}/nics`;
  const bonds = server.bonds ?? [];
  const networkOptions = (current: string | undefined) => [
    { value: '', label: t('noNetwork') },
    ...plan.networks.map((n) => ({ value: n.name, label: n.name })),
    ...(current !== undefined && !plan.networks.some((n) => n.name === current)
      ? [{ value: current, label: `${current} — ${t('unknownNetwork')}` }]
      : []),
  ];
  return (
    <HardwareList
      title={t('nics')}
      path={base}
      tableTestId="nic-table"
      headers={
        <>
          <th>{t('nicName')}</th>
          <th>{t('mac')}</th>
          <th>{t('speed')}</th>
          <th>{t('untagged')}</th>
          <th title={t('taggedHint')}>{t('tagged')}</th>
          {bonds.length > 0 && <th>{t('bond')}</th>}
        </>
      }
      addTestId="add-nic"
      addLabel={t('addNic')}
      onAdd={() =>
        editServer(index, (s) => {
          let n = s.nics.length + 1;
          while (s.nics.some((x) => x.name === `eno${n}`)) n++;
          s.nics.push({ name: `eno${n}`, mac: '', speedGbps: 25 });
        })
      }
    >
      {server.nics.map((nic, j) => {
        const p = `${base}/${j}`;
        const bond = bondOf(server, nic.name);
        return (
          <tr key={j} data-testid={`nic-${server.hostname}-${nic.name}`}>
            <td>
              <PlanInput
                path={`${p}/name`}
                also={[p]}
                label={`${t('nicName')} ${nic.name}`}
                value={nic.name}
                size={8}
                commit={(v) => editServer(index, (s) => renameNic(s, j, v), `${p}/name`)}
              />
            </td>
            <td>
              <PlanInput
                path={`${p}/mac`}
                label={`${t('mac')} ${nic.name}`}
                value={nic.mac}
                size={17}
                commit={(v) => editServer(index, (s) => void (s.nics[j]!.mac = v), `${p}/mac`)}
              />
            </td>
            <td>
              <PlanInput
                path={`${p}/speedGbps`}
                label={`${t('speed')} ${nic.name}`}
                value={String(nic.speedGbps)}
                size={4}
                problem={(v) => (isNumber(v) ? undefined : t('needNumber'))}
                commit={(v) =>
                  editServer(
                    index,
                    (s) => void (s.nics[j]!.speedGbps = Number(v)),
                    `${p}/speedGbps`,
                  )
                }
              />
            </td>
            <td>
              <PlanSelect
                path={`${p}/network`}
                label={`${t('untagged')} ${nic.name}`}
                value={nic.network ?? ''}
                options={networkOptions(nic.network)}
                onChange={(v) =>
                  editServer(index, (s) => {
                    if (v) s.nics[j]!.network = v;
                    else delete s.nics[j]!.network;
                  })
                }
              />
            </td>
            <td>
              <TaggedInput
                path={`${p}/tagged`}
                label={`${t('tagged')} ${nic.name}`}
                tagged={nic.tagged}
                commit={(list) =>
                  editServer(index, (s) => {
                    if (list) s.nics[j]!.tagged = list;
                    else delete s.nics[j]!.tagged;
                  })
                }
              />
            </td>
            {bonds.length > 0 && (
              <td>
                <PlanSelect
                  path={`${p}/bond`}
                  label={`${t('bond')} ${nic.name}`}
                  value={bond ?? ''}
                  options={[
                    { value: '', label: t('noBond') },
                    ...bonds.map((b) => ({ value: b.name, label: b.name })),
                  ]}
                  onChange={(v) => editServer(index, (s) => setNicBond(s, j, v || undefined))}
                />
              </td>
            )}
            <RemoveCell
              label={`${t('removeNic')} ${nic.name}`}
              onRemove={() => editServer(index, (s) => removeNic(s, j))}
            />
          </tr>
        );
      })}
    </HardwareList>
  );
}

/**
 * The server's bonds: name, mode, the networks they carry. Members are chosen on the NICs
 * (their Bond column); a member finding (`/servers/7/bonds/0/members/1`) marks the list.
 */
function BondRows({ plan, index }: { plan: Plan; index: number }) {
  const t = useEditorT();
  const server = plan.servers[index]!;
  const base = `/servers/${index}/bonds`;
  const bonds = server.bonds ?? [];
  const setBond = (j: number, recipe: (b: Bond) => void, key?: string) =>
    editServer(index, (s) => recipe(s.bonds![j]!), key);
  return (
    <HardwareList
      title={t('bonds')}
      path={base}
      tableTestId="bond-table"
      showTable={bonds.length > 0}
      headers={
        <>
          <th>{t('nicName')}</th>
          <th>{t('bondMode')}</th>
          <th>{t('untagged')}</th>
          <th title={t('taggedHint')}>{t('tagged')}</th>
          <th>{t('bondMembers')}</th>
        </>
      }
      addTestId="add-bond"
      addLabel={t('addBond')}
      onAdd={() =>
        editServer(index, (s) => {
          const list = (s.bonds ??= []);
          let n = 0;
          while (list.some((b) => b.name === `bond${n}`)) n++;
          list.push({ name: `bond${n}`, mode: 'active-backup', members: [] });
        })
      }
    >
      {bonds.map((bond, j) => {
        const p = `${base}/${j}`;
        return (
          <tr key={j}>
            <td>
              <PlanInput
                path={`${p}/name`}
                also={[p]}
                label={`${t('bond')} ${bond.name}`}
                value={bond.name}
                size={8}
                commitOn="blur"
                commit={(v) => setBond(j, (b) => void (b.name = v.trim()))}
              />
            </td>
            <td>
              <PlanSelect
                path={`${p}/mode`}
                also={[`${p}/hashPolicy`]}
                label={`${t('bondMode')} ${bond.name}`}
                value={bond.mode}
                options={BOND_MODES.map((m) => ({ value: m, label: m }))}
                onChange={(v) => setBond(j, (b) => void (b.mode = v as Bond['mode']))}
              />
            </td>
            <td>
              <PlanSelect
                path={`${p}/network`}
                label={`${t('untagged')} ${bond.name}`}
                value={bond.network ?? ''}
                options={[
                  { value: '', label: t('noNetwork') },
                  ...plan.networks.map((n) => ({ value: n.name, label: n.name })),
                ]}
                onChange={(v) =>
                  setBond(j, (b) => {
                    if (v) b.network = v;
                    else delete b.network;
                  })
                }
              />
            </td>
            <td>
              <TaggedInput
                path={`${p}/tagged`}
                label={`${t('tagged')} ${bond.name}`}
                tagged={bond.tagged}
                commit={(list) =>
                  setBond(j, (b) => {
                    if (list) b.tagged = list;
                    else delete b.tagged;
                  })
                }
              />
            </td>
            <td>
              <MemberList path={`${p}/members`} members={bond.members} />
            </td>
            <RemoveCell
              label={`${t('removeBond')} ${bond.name}`}
              onRemove={() =>
                editServer(index, (s) => {
                  s.bonds!.splice(j, 1);
                  if (!s.bonds!.length) delete s.bonds;
                })
              }
            />
          </tr>
        );
      })}
    </HardwareList>
  );
}

/** A bond's members as text, focusable so a member finding can land on it. */
function MemberList({ path, members }: { path: string; members: readonly string[] }) {
  const findings = useFindingsAt(path);
  return (
    <span className="cell ro" tabIndex={0} data-path={path} {...findingMarks(findings)}>
      {members.join(', ') || '—'}
    </span>
  );
}

function DiskRows({ plan, index }: { plan: Plan; index: number }) {
  const t = useEditorT();
  const server = plan.servers[index]!;
  const base = `/servers/${index}/disks`;
  const set = <K extends keyof Disk>(j: number, k: K, v: Disk[K], key?: string) =>
    editServer(index, (s) => void (s.disks[j]![k] = v), key);
  return (
    <HardwareList
      title={t('disks')}
      path={base}
      tableTestId="disk-table"
      headers={
        <>
          <th>{t('device')}</th>
          <th>{t('sizeGB')}</th>
          <th>{t('diskType')}</th>
          <th>{t('diskUse')}</th>
        </>
      }
      addTestId="add-disk"
      addLabel={t('addDisk')}
      onAdd={() =>
        editServer(index, (s) => {
          let n = 0;
          while (s.disks.some((d) => d.device === `/dev/sd${String.fromCharCode(97 + n)}`)) n++;
          s.disks.push({
            device: `/dev/sd${String.fromCharCode(97 + n)}`,
            sizeGB: 960,
            type: 'ssd',
            use: 'none',
          });
        })
      }
    >
      {server.disks.map((disk, j) => {
        const p = `${base}/${j}`;
        return (
          <tr key={j}>
            <td>
              <PlanInput
                path={`${p}/device`}
                also={[p]}
                label={`${t('device')} ${j + 1}`}
                value={disk.device}
                size={14}
                commit={(v) => set(j, 'device', v, `${p}/device`)}
              />
            </td>
            <td>
              <PlanInput
                path={`${p}/sizeGB`}
                label={`${t('sizeGB')} ${j + 1}`}
                value={String(disk.sizeGB)}
                size={6}
                problem={(v) => (isNumber(v) ? undefined : t('needNumber'))}
                commit={(v) => set(j, 'sizeGB', Number(v), `${p}/sizeGB`)}
              />
            </td>
            <td>
              <PlanSelect
                path={`${p}/type`}
                label={`${t('diskType')} ${j + 1}`}
                value={disk.type}
                options={DISK_TYPES.map((v) => ({ value: v, label: v }))}
                onChange={(v) => set(j, 'type', v as Disk['type'])}
              />
            </td>
            <td>
              <PlanSelect
                path={`${p}/use`}
                label={`${t('diskUse')} ${j + 1}`}
                value={disk.use}
                options={DISK_USES.map((v) => ({ value: v, label: v }))}
                onChange={(v) => set(j, 'use', v as Disk['use'])}
              />
            </td>
            <RemoveCell
              label={`${t('removeDisk')} ${j + 1}`}
              onRemove={() => editServer(index, (s) => void s.disks.splice(j, 1))}
            />
          </tr>
        );
      })}
    </HardwareList>
  );
}

/** The NICs and disks of one server: every field bound to its plan path, marked by findings. */
export function ServerHardware({ plan, index }: { plan: Plan; index: number }) {
  const t = useEditorT();
  const server = plan.servers[index];
  if (!server) return null;
  return (
    <section className="server-hardware" data-testid="server-hardware" aria-label={server.hostname}>
      <h3>
        {t('hardwareOf')} {server.hostname}
      </h3>
      <NicRows plan={plan} index={index} />
      <BondRows plan={plan} index={index} />
      <DiskRows plan={plan} index={index} />
    </section>
  );
}
