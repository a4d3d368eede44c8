import { useEffect, useState } from 'react';
import { CATALOGUES, NETWORK_PURPOSES, type IpPlan, type Plan } from '../../../src/api';
import { isInt } from '../components/Field';
import { useApp } from '../context';
import { NetworkDeleteButton, NetworkNameCell } from '../editors/NetworkParts';
import { PlanInput, PlanSelect } from '../editors/PlanInput';
import { useEditorT } from '../editors/texts';
import { useT, type TextKey } from '../i18n';
import { freshNetworkName } from '../logic/plan-edits';
import { usePlanStore } from '../state/plan-store';
import { useUiStore } from '../state/ui-store';

type Network = Plan['networks'][number];

interface NetColumn {
  key: string;
  label: TextKey;
  get(n: Network): string;
  set(n: Network, v: string): void;
  valid?(v: string): boolean;
}

const optionalInt = (v: string) => v === '' || isInt(v);
const COLUMNS: NetColumn[] = [
  { key: 'name', label: 'name', get: (n) => n.name, set: (n, v) => void (n.name = v) },
  {
    key: 'vlan',
    label: 'vlan',
    get: (n) => String(n.vlan ?? ''),
    valid: optionalInt,
    set: (n, v) => {
      if (v === '') delete n.vlan;
      else n.vlan = Number(v);
    },
  },
  { key: 'cidr', label: 'cidr', get: (n) => n.cidr, set: (n, v) => void (n.cidr = v) },
  {
    key: 'gateway',
    label: 'gateway',
    get: (n) => n.gateway ?? '',
    set: (n, v) => {
      if (v === '') delete n.gateway;
      else n.gateway = v;
    },
  },
  {
    key: 'mtu',
    label: 'mtu',
    get: (n) => String(n.mtu ?? ''),
    valid: optionalInt,
    set: (n, v) => {
      if (v === '') delete n.mtu;
      else n.mtu = Number(v);
    },
  },
  {
    key: 'pool/start',
    label: 'poolStart',
    get: (n) => n.pool?.start ?? '',
    set: (n, v) => {
      n.pool = { start: v, end: n.pool?.end ?? v };
    },
  },
  {
    key: 'pool/end',
    label: 'poolEnd',
    get: (n) => n.pool?.end ?? '',
    set: (n, v) => {
      n.pool = { start: n.pool?.start ?? v, end: v };
    },
  },
];

function NetCell({
  index,
  column,
  network,
}: {
  index: number;
  column: NetColumn;
  network: Network;
}) {
  const t = useEditorT();
  if (column.key === 'name') return <NetworkNameCell index={index} name={network.name} />;
  const path = `/networks/${index}/${column.key}`;
  const valid = column.valid;
  // A pool finding points at the pool as a whole (`/networks/2/pool`): both ends show it.
  return (
    <PlanInput
      path={path}
      also={column.key.startsWith('pool/') ? [`/networks/${index}/pool`] : undefined}
      label={`${column.key} ${network.name}`}
      value={column.get(network)}
      problem={valid ? (v) => (valid(v) ? undefined : t('needNumber')) : undefined}
      commit={(v) => usePlanStore.getState().edit((d) => column.set(d.networks[index]!, v), path)}
    />
  );
}

/** Allocated, reserved and free addresses of one network as a bar and a list. */
function IpPlanView({ ip }: { ip: IpPlan }) {
  const t = useT();
  const used = ip.allocated.length + ip.reserved.length;
  const pct = (n: number) => `${ip.size ? (100 * n) / ip.size : 0}%`;
  return (
    <details className="ip-plan" data-testid={`ip-plan-${ip.network}`}>
      <summary>
        <strong>{ip.network}</strong> {ip.cidr} · {ip.allocated.length} {t('allocated')} ·{' '}
        {ip.reserved.length} {t('reserved')} · {ip.poolFree} {t('free')}
        <span className="bar" aria-hidden>
          <span className="allocated" style={{ width: pct(ip.allocated.length) }} />
          <span className="reserved" style={{ width: pct(ip.reserved.length) }} />
          <span className="free" style={{ width: pct(Math.max(0, ip.size - used)) }} />
        </span>
      </summary>
      <table>
        <tbody>
          {ip.reserved.map((r) => (
            <tr key={`r${r.address}`} className="reserved">
              <td>{r.address}</td>
              <td>
                {t('reserved')}: {r.owner}
              </td>
            </tr>
          ))}
          {ip.allocated.map((a) => (
            <tr key={`a${a.address}${a.owner}`}>
              <td>{a.address}</td>
              <td>{a.owner}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}

export function NetworksStep({ plan }: { plan: Plan }) {
  const t = useT();
  const lang = useUiStore((s) => s.lang);
  const { api, actions } = useApp();
  const edit = usePlanStore((s) => s.edit);
  const [ipPlan, setIpPlan] = useState<IpPlan[]>([]);
  useEffect(() => {
    let live = true;
    const timer = setTimeout(() => {
      void api.planIpPlan({ plan }).then((r) => live && r.ok && setIpPlan(r.value.networks));
    }, 200);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [api, plan]);
  return (
    <section className="step" aria-labelledby="net-title">
      <h2 id="net-title">{t('networks')}</h2>
      <div className="toolbar">
        <button
          type="button"
          onClick={() =>
            edit(
              (d) =>
                void d.networks.push({
                  name: freshNetworkName(d),
                  purpose: 'tenant',
                  cidr: '10.99.0.0/24',
                }),
            )
          }
        >
          {t('addNetwork')}
        </button>
        <button type="button" data-testid="run-ipam" onClick={() => void actions.runIpam(plan)}>
          {t('runIpam')}
        </button>
      </div>
      <table className="networks">
        <thead>
          <tr>
            <th>{t('purpose')}</th>
            {COLUMNS.map((c) => (
              <th key={c.key}>{t(c.label)}</th>
            ))}
            <th />
          </tr>
        </thead>
        <tbody>
          {plan.networks.map((n, i) => (
            <tr key={i}>
              <td>
                <PlanSelect
                  path={`/networks/${i}/purpose`}
                  label={`purpose ${n.name}`}
                  value={n.purpose}
                  options={NETWORK_PURPOSES.map((p) => ({
                    value: p,
                    label: CATALOGUES[lang].purpose[p],
                  }))}
                  onChange={(v) =>
                    edit((d) => void (d.networks[i]!.purpose = v as Network['purpose']))
                  }
                />
              </td>
              {COLUMNS.map((c) => (
                <td key={c.key}>
                  <NetCell index={i} column={c} network={n} />
                </td>
              ))}
              <td>
                <NetworkDeleteButton plan={plan} index={i} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>{t('ipPlan')}</h3>
      {ipPlan.map((ip) => (
        <IpPlanView key={ip.network} ip={ip} />
      ))}
    </section>
  );
}
