/**
 * Connect: how the laptop logs in (user, key, agent, jump host, a sudo password), each
 * planned host's state with the host-key dialog, then the connect phase's facts beside
 * the plan, the preflight findings and the network matrix per network.
 */
import { useEffect, useState } from 'react';
import type { AccessSettings, ConnectReport, HostCheck } from '../../../src/api';
import { useApp } from '../context';
import { useOpT, type OpTextKey } from '../host-pages/texts';
import { selectConnect, usePageMemory } from '../state/page-memory-store';
import { selectPlan, usePlanStore } from '../state/plan-store';
import { useUiStore } from '../state/ui-store';
import { HostKeyDialog } from './HostKeyDialog';

function notifyError(text: string) {
  useUiStore.getState().notify({ kind: 'error', text });
}

export function ConnectPage() {
  const { api } = useApp();
  const t = useOpT();
  const planFile = usePlanStore((s) => s.file);
  const plan = usePlanStore(selectPlan);
  const [settings, setSettings] = useState<AccessSettings | undefined>(undefined);
  const [store, setStore] = useState<{ kind: string; canRemember: boolean; reason?: string }>();
  // Checks and facts live in the store: they stay when the user visits another page.
  const { hosts, report } = usePageMemory(selectConnect(planFile));
  const [checking, setChecking] = useState(false);
  const [dialog, setDialog] = useState<HostCheck | undefined>(undefined);
  const [gathering, setGathering] = useState(false);

  useEffect(() => {
    if (!planFile) return;
    void api.accessGet({ planFile }).then((r) => {
      if (!r.ok) return notifyError(r.error.message);
      setSettings(r.value.settings);
      setStore(r.value.secrets);
    });
  }, [api, planFile]);

  if (!planFile) return <p className="empty">{t('saveFirst')}</p>;

  const setHosts = (
    change: HostCheck[] | ((cur: HostCheck[] | undefined) => HostCheck[] | undefined),
  ) =>
    usePageMemory.getState().setConnect(planFile, (m) => ({
      hosts: typeof change === 'function' ? change(m.hosts) : change,
    }));
  const setReport = (r: ConnectReport) =>
    usePageMemory.getState().setConnect(planFile, { report: r });
  const check = async () => {
    setChecking(true);
    try {
      const r = await api.connectCheck({ planFile });
      if (r.ok) setHosts(r.value.hosts);
      else notifyError(r.error.message);
    } finally {
      setChecking(false);
    }
  };
  const gather = async () => {
    setGathering(true);
    try {
      const r = await api.connectGather({ planFile });
      if (r.ok) setReport(r.value);
      else notifyError(r.error.message);
    } finally {
      setGathering(false);
    }
  };

  return (
    <div className="connect" data-testid="connect-page">
      {settings && (
        <AccessForm
          planFile={planFile}
          settings={settings}
          store={store}
          hostNames={plan?.servers.map((s) => s.hostname) ?? []}
          onSaved={setSettings}
        />
      )}
      <div className="toolbar">
        <button
          type="button"
          data-testid="check-hosts"
          disabled={checking}
          onClick={() => void check()}
        >
          {checking ? t('checking') : t('checkHosts')}
        </button>
        <button
          type="button"
          data-testid="gather"
          disabled={gathering || !hosts?.every((h) => h.state === 'ok')}
          onClick={() => void gather()}
        >
          {gathering ? t('gathering') : t('gather')}
        </button>
      </div>
      {hosts && (
        <table className="host-list" data-testid="host-list">
          <thead>
            <tr>
              <th>{t('host')}</th>
              <th>{t('address')}</th>
              <th>{t('user')}</th>
              <th>{t('state')}</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {hosts.map((h) => (
              <tr key={h.host} data-testid={`host-row-${h.host}`}>
                <td>{h.host}</td>
                <td>
                  {h.address}:{h.port}
                  {h.via && (
                    <span className="muted">
                      {' '}
                      {t('via')} {h.via}
                    </span>
                  )}
                </td>
                <td>{h.user}</td>
                <td>
                  <span
                    className={`badge host-${h.state}`}
                    data-testid={`host-state-${h.host}`}
                    data-state={h.state}
                    title={h.message}
                  >
                    {t(`state-${h.state}` as OpTextKey)}
                  </span>
                  {h.state === 'host-key-changed' && (
                    <p className="error-text">
                      {t('keyChanged')} ({h.fingerprint} ≠ {h.knownFingerprints?.join(', ')})
                    </p>
                  )}
                  {h.state !== 'ok' && h.state !== 'host-key-changed' && h.message && (
                    <p className="muted small">{h.message}</p>
                  )}
                </td>
                <td>
                  {h.state === 'host-key-unknown' && (
                    <button
                      type="button"
                      data-testid={`verify-key-${h.host}`}
                      onClick={() => setDialog(h)}
                    >
                      {t('verifyKey')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {dialog && (
        <HostKeyDialog
          check={dialog}
          onDecide={async (decision) => {
            const r = await api.connectHostKey({
              planFile,
              host: dialog.host,
              fingerprint: dialog.fingerprint!,
              decision,
            });
            setDialog(undefined);
            if (!r.ok) return notifyError(r.error.message);
            const again = await api.connectCheck({ planFile, hosts: [dialog.host] });
            if (again.ok)
              setHosts((cur) =>
                cur?.map((h) => (h.host === dialog.host ? (again.value.hosts[0] ?? h) : h)),
              );
          }}
        />
      )}
      {report && <Report report={report} />}
    </div>
  );
}

function AccessForm(props: {
  planFile: string;
  settings: AccessSettings;
  store: { kind: string; canRemember: boolean; reason?: string } | undefined;
  hostNames: string[];
  onSaved(s: AccessSettings): void;
}) {
  const { api } = useApp();
  const t = useOpT();
  const [s, setS] = useState(props.settings);
  const [sudo, setSudo] = useState('');
  const [remember, setRemember] = useState(false);
  const jump = s.jumpHost;
  return (
    <form
      className="access-form"
      data-testid="access-form"
      onSubmit={(e) => {
        e.preventDefault();
        void api.accessSet({ planFile: props.planFile, settings: s }).then((r) => {
          if (!r.ok) return notifyError(r.error.message);
          props.onSaved(s);
          useUiStore.getState().notify({ kind: 'info', text: t('saveAccess') + ' ✓' });
        });
      }}
    >
      <h3>{t('access')}</h3>
      <label>
        {t('user')}
        <input
          data-testid="access-user"
          value={s.user}
          onChange={(e) => setS({ ...s, user: e.target.value })}
        />
      </label>
      <label>
        {t('keyPath')}
        <input
          data-testid="access-key"
          placeholder={t('keyPathHint')}
          value={s.keyPath ?? ''}
          onChange={(e) => setS({ ...s, keyPath: e.target.value.trim() || null })}
        />
      </label>
      <label className="check">
        <input
          type="checkbox"
          data-testid="access-agent"
          checked={s.agent}
          onChange={(e) => setS({ ...s, agent: e.target.checked })}
        />
        {t('agent')}
      </label>
      <label>
        {t('jumpHost')}
        <input
          value={jump?.address ?? ''}
          onChange={(e) =>
            setS({
              ...s,
              jumpHost: e.target.value.trim()
                ? { port: 22, ...jump, address: e.target.value.trim() }
                : null,
            })
          }
        />
      </label>
      {jump && (
        <>
          <label>
            {t('jumpPort')}
            <input
              type="number"
              value={jump.port}
              onChange={(e) => setS({ ...s, jumpHost: { ...jump, port: Number(e.target.value) } })}
            />
          </label>
          <label>
            {t('jumpUser')}
            <input
              value={jump.user ?? ''}
              onChange={(e) =>
                setS({ ...s, jumpHost: { ...jump, user: e.target.value.trim() || undefined } })
              }
            />
          </label>
        </>
      )}
      <button type="submit" data-testid="access-save">
        {t('saveAccess')}
      </button>
      <fieldset>
        <label>
          {t('sudoPassword')}
          <input
            type="password"
            autoComplete="off"
            value={sudo}
            onChange={(e) => setSudo(e.target.value)}
          />
        </label>
        <label className="check" title={props.store?.reason}>
          <input
            type="checkbox"
            disabled={!props.store?.canRemember}
            checked={remember}
            onChange={(e) => setRemember(e.target.checked)}
          />
          {t('remember')}
        </label>
        <button
          type="button"
          disabled={!sudo}
          onClick={() => {
            const value = sudo;
            setSudo('');
            void Promise.all(
              props.hostNames.map((host) =>
                api.secretProvide({ ref: { kind: 'sudo', host, user: s.user }, value, remember }),
              ),
            ).then((rs) => {
              const bad = rs.find((r) => !r.ok);
              if (bad && !bad.ok) notifyError(bad.error.message);
            });
          }}
        >
          {t('give')}
        </button>
        <p className="muted small" title={props.store?.reason}>
          {props.store?.kind === 'keychain' && props.store.canRemember
            ? t('secretsKeychain')
            : t('secretsSession')}
        </p>
      </fieldset>
    </form>
  );
}

function Report({ report }: { report: ConnectReport }) {
  const t = useOpT();
  return (
    <div className="connect-report" data-testid="connect-report">
      <h3>{t('facts')}</h3>
      <table className="facts" data-testid="facts">
        <thead>
          <tr>
            <th>{t('host')}</th>
            <th />
            <th>{t('cpus')}</th>
            <th>{t('memory')}</th>
            <th>{t('disks')}</th>
            <th>{t('macs')}</th>
            <th>{t('os')}</th>
          </tr>
        </thead>
        <tbody>
          {report.hosts.map((h) => {
            const f = h.facts;
            const macsOk = f && h.planned.macs.every((m) => f.macs.includes(m));
            return [
              <tr key={`${h.host}-p`}>
                <th rowSpan={2}>{h.host}</th>
                <td className="muted">{t('planned')}</td>
                <td>{h.planned.cpus}</td>
                <td>{h.planned.memoryGiB}</td>
                <td>{h.planned.disks.map((d) => `${d.device} ${d.sizeGB} GB`).join(', ')}</td>
                <td>{h.planned.macs.join(', ')}</td>
                <td>{h.planned.os}</td>
              </tr>,
              <tr key={`${h.host}-f`} data-testid={`facts-${h.host}`}>
                <td className="muted">{t('found')}</td>
                {f ? (
                  <>
                    <td className={f.cpus < h.planned.cpus ? 'mismatch' : ''}>{f.cpus}</td>
                    <td className={f.memoryGiB < h.planned.memoryGiB * 0.9 ? 'mismatch' : ''}>
                      {f.memoryGiB}
                    </td>
                    <td>{f.disks.map((d) => `${d.name} ${d.sizeGB} GB`).join(', ')}</td>
                    <td className={macsOk ? '' : 'mismatch'}>{f.macs.join(', ')}</td>
                    <td title={f.kernel}>{f.os}</td>
                  </>
                ) : (
                  <td colSpan={5} className="error-text">
                    {h.problem}
                  </td>
                )}
              </tr>,
            ];
          })}
        </tbody>
      </table>
      <h3>{t('findings')}</h3>
      {report.findings.length === 0 ? (
        <p>{t('noFindings')}</p>
      ) : (
        <ul className="findings" data-testid="preflight-findings">
          {report.findings.map((f, i) => (
            <li key={i} className={`finding ${f.severity}`}>
              <strong>{f.severity}</strong> {f.message} <span className="muted">{f.hint}</span>
            </li>
          ))}
        </ul>
      )}
      <h3>{t('networkMatrix')}</h3>
      {report.matrix.networks.map((n) => (
        <NetMatrix key={n.network} network={n} />
      ))}
    </div>
  );
}

function NetMatrix({ network }: { network: ConnectReport['matrix']['networks'][number] }) {
  const t = useOpT();
  const hosts = [...new Set(network.cells.flatMap((c) => [c.from, c.to]))];
  const cell = new Map(network.cells.map((c) => [`${c.from}\u0000${c.to}`, c]));
  return (
    <table className="net-matrix" data-testid={`net-matrix-${network.network}`}>
      <caption>
        {network.network} (MTU {network.mtu})
      </caption>
      <thead>
        <tr>
          <th />
          {hosts.map((h) => (
            <th key={h}>{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {hosts.map((from) => (
          <tr key={from}>
            <th>{from}</th>
            {hosts.map((to) => {
              const c = cell.get(`${from}\u0000${to}`);
              if (!c) return <td key={to} />;
              const measured = c.lossPercent !== undefined;
              return (
                <td
                  key={to}
                  className={c.ok ? 'net-ok' : 'net-bad'}
                  data-testid={`net-${network.network}-${from}-${to}`}
                  data-ok={c.ok}
                >
                  {measured
                    ? `${c.avgMs == null ? '–' : c.avgMs.toFixed(1)} ms · ${c.lossPercent} %`
                    : t('notMeasured')}
                  {c.mtuOk === false && (
                    <span className="badge state-failed">{t('mtuProblem')}</span>
                  )}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
