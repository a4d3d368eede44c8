import { useEffect, useState } from 'react';
import { NETWORK_PURPOSES, type IpPlan, type Plan } from '../../../src/api';
import { isInt } from '../components/Field';
import { useApp } from '../context';
import { useT, type TextKey } from '../i18n';
import { usePlanStore } from '../state/plan-store';

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
  const value = column.get(network);
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  const path = `/networks/${index}/${column.key}`;
  return (
    <input
      className="cell"
      data-path={path}
      aria-label={`${column.key} ${network.name}`}
      value={draft}
      aria-invalid={column.valid !== undefined && !column.valid(draft)}
      onChange={(e) => {
        setDraft(e.target.value);
        if (!column.valid || column.valid(e.target.value)) {
          usePlanStore.getState().edit((d) => column.set(d.networks[index]!, e.target.value), path);
        }
      }}
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
                  name: `net-${d.networks.length + 1}`,
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
          </tr>
        </thead>
        <tbody>
          {plan.networks.map((n, i) => (
            <tr key={i}>
              <td>
                <select
                  value={n.purpose}
                  data-path={`/networks/${i}/purpose`}
                  aria-label={`purpose ${n.name}`}
                  onChange={(e) =>
                    edit(
                      (d) => void (d.networks[i]!.purpose = e.target.value as Network['purpose']),
                    )
                  }
                >
                  {NETWORK_PURPOSES.map((p) => (
                    <option key={p} value={p}>
                      {p}
                    </option>
                  ))}
                </select>
              </td>
              {COLUMNS.map((c) => (
                <td key={c.key}>
                  <NetCell index={i} column={c} network={n} />
                </td>
              ))}
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
