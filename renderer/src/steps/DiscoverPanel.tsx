/**
 * Discovery from the servers' BMCs (`bmc:discover`, docs/bare-metal.md "Discovery"): per
 * server its status and the diff the BMC's inventory takes, a checkbox to accept it, and
 * "Apply accepted", which writes the accepted servers into the plan as one undo step. An
 * unknown BMC certificate is shown with its fingerprint and pinned only when the consultant
 * says they compared it. BMC passwords are asked by the SecretDialog (`secret:needed`).
 */
import { useEffect, useState } from 'react';
import {
  copyDiscovered,
  sameDiscoveredFields,
  type BmcServerDiscovery,
  type FindingView,
  type Plan,
} from '../../../src/api';
import { useApp } from '../context';
import { useT, type TextKey } from '../i18n';
import { usePlanStore } from '../state/plan-store';
import { useUiStore } from '../state/ui-store';

const STATUS: Record<BmcServerDiscovery['status'], TextKey> = {
  read: 'bmcStatusRead',
  'no-bmc': 'bmcStatusNoBmc',
  ipmi: 'bmcStatusIpmi',
  'no-credentials': 'bmcStatusNoCredentials',
  unreachable: 'bmcStatusUnreachable',
  'login-refused': 'bmcStatusLoginRefused',
  'certificate-unknown': 'bmcStatusCertificateUnknown',
  'certificate-changed': 'bmcStatusCertificateChanged',
  failed: 'bmcStatusFailed',
};

const SIGN = { changed: '~', added: '+', kept: '=' } as const;

/** What a read found, and the plan it was read for (its proposals are merged into that). */
type Found = { servers: BmcServerDiscovery[]; findings: FindingView[]; readFrom: Plan };

export function DiscoverPanel({ plan, onClose }: { plan: Plan; onClose(): void }) {
  const t = useT();
  const { api } = useApp();
  const edit = usePlanStore((s) => s.edit);
  const notify = useUiStore((s) => s.notify);
  const [user, setUser] = useState('');
  const [port, setPort] = useState('443');
  const [reading, setReading] = useState<{ done: number; total: number } | null>(null);
  const [found, setFound] = useState<Found | null>(null);
  const [accepted, setAccepted] = useState<ReadonlySet<string>>(new Set());
  useEffect(
    () => api.on('bmc:discover-progress', (e) => setReading({ done: e.done, total: e.total })),
    [api],
  );
  const portOk = /^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535;

  const read = async () => {
    setReading({ done: 0, total: plan.servers.length });
    const r = await api.bmcDiscover({
      plan,
      port: Number(port),
      ...(user.trim() ? { user: user.trim() } : {}),
    });
    setReading(null);
    if (!r.ok) return notify({ kind: 'error', text: r.error.message });
    setFound({ ...r.value, readFrom: plan });
    // Servers with changes are offered accepted; the consultant unticks what they doubt.
    setAccepted(
      new Set(
        r.value.servers
          .filter((s) => s.status === 'read' && s.changes.some((c) => c.kind !== 'kept'))
          .map((s) => s.hostname),
      ),
    );
  };

  const trust = async (s: BmcServerDiscovery) => {
    const r = await api.bmcAcceptCertificate({
      address: s.address!,
      port: Number(port),
      fingerprint: s.fingerprint!,
    });
    if (!r.ok) return notify({ kind: 'error', text: r.error.message });
    await read();
  };

  const apply = () => {
    const take = (found?.servers ?? []).filter((s) => s.proposed && accepted.has(s.hostname));
    if (take.length === 0 || !found) return;
    // A proposal holds the NICs and disks as they were at the read: a server whose hardware
    // fields were edited since is left alone (read again), never overwritten.
    const stale = take.filter((s) => {
      const then = found.readFrom.servers.find((x) => x.hostname === s.hostname);
      const now = plan.servers.find((x) => x.hostname === s.hostname);
      return !then || !now || !sameDiscoveredFields(then, now);
    });
    const apply = take.filter((s) => !stale.includes(s));
    if (apply.length)
      edit((d) => {
        for (const s of apply) {
          const to = d.servers.find((x) => x.hostname === s.hostname);
          // Only what discovery reads: roles, addresses and the rest edited since stay.
          if (to) copyDiscovered(to, s.proposed!);
        }
      });
    if (stale.length) {
      notify({
        kind: 'error',
        text: `${t('discoverStale')}: ${stale.map((s) => s.hostname).join(', ')}`,
      });
      if (!apply.length) return;
    }
    notify({ kind: 'info', text: t('discoverApplied') });
    onClose();
  };

  const errors = found?.findings.filter((f) => f.severity === 'error') ?? [];
  return (
    <section className="discover" aria-labelledby="discover-title" data-testid="discover-panel">
      <h3 id="discover-title">{t('discoverTitle')}</h3>
      <p className="hint">{t('discoverIntro')}</p>
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          if (portOk && !reading) void read();
        }}
      >
        <label>
          {t('bmcUser')}{' '}
          <input
            value={user}
            size={10}
            autoComplete="username"
            data-testid="discover-user"
            onChange={(e) => setUser(e.target.value)}
          />
        </label>
        <label>
          {t('bmcPort')}{' '}
          <input
            value={port}
            size={5}
            data-testid="discover-port"
            onChange={(e) => setPort(e.target.value)}
          />
        </label>
        <button type="submit" disabled={!portOk || reading !== null} data-testid="discover-read">
          {t('discoverRead')}
        </button>
        <button type="button" onClick={onClose}>
          {t('discoverClose')}
        </button>
      </form>
      {reading && (
        <p role="status" data-testid="discover-progress">
          {t('discoverReading')} <progress max={reading.total} value={reading.done} />{' '}
          {reading.done}/{reading.total}
        </p>
      )}
      {found && !reading && (
        <>
          <ul className="discover-servers">
            {found.servers.map((s) => {
              const changes = s.changes.filter((c) => c.kind !== 'kept').length;
              return (
                <li key={s.hostname} data-testid={`discover-${s.hostname}`}>
                  <label>
                    {s.proposed && changes > 0 && (
                      <input
                        type="checkbox"
                        checked={accepted.has(s.hostname)}
                        data-testid={`discover-accept-${s.hostname}`}
                        onChange={(e) => {
                          const next = new Set(accepted);
                          if (e.target.checked) next.add(s.hostname);
                          else next.delete(s.hostname);
                          setAccepted(next);
                        }}
                      />
                    )}{' '}
                    <strong>{s.hostname}</strong>
                    {s.address ? ` (BMC ${s.address})` : ''}:{' '}
                    <span data-testid={`discover-status-${s.hostname}`}>
                      {s.status === 'read'
                        ? changes > 0
                          ? `${changes} ${t('discoverChanges')}`
                          : t('discoverAsPlanned')
                        : t(STATUS[s.status])}
                    </span>
                  </label>
                  {s.status !== 'read' && s.status !== 'no-bmc' && s.message && (
                    <div className="hint">{s.message}</div>
                  )}
                  {s.status === 'certificate-unknown' && s.fingerprint && (
                    <div>
                      {t('discoverFingerprint')} <code>sha256 {s.fingerprint}</code>{' '}
                      <button
                        type="button"
                        data-testid={`discover-trust-${s.hostname}`}
                        onClick={() => void trust(s)}
                      >
                        {t('discoverTrust')}
                      </button>
                    </div>
                  )}
                  {s.changes.length > 0 && (
                    <ul className="discover-diff">
                      {s.changes.map((c) => (
                        <li key={c.field + c.kind} className={`diff-${c.kind}`}>
                          <code>
                            {SIGN[c.kind]} {c.field}: {c.text.replace(/^\+ /, '')}
                          </code>
                        </li>
                      ))}
                    </ul>
                  )}
                </li>
              );
            })}
          </ul>
          <p data-testid="discover-findings">
            {t('discoverFindings')}:{' '}
            {errors.length === 0 ? t('discoverNoFindings') : `${errors.length} ✗`}
          </p>
          {errors.length > 0 && (
            <ul>
              {errors.map((f) => (
                <li key={f.rule + f.path}>
                  <code>{f.path}</code> {f.message}
                </li>
              ))}
            </ul>
          )}
          <button
            type="button"
            data-testid="discover-apply"
            disabled={![...accepted].some((h) => found.servers.some((s) => s.hostname === h))}
            onClick={apply}
          >
            {t('discoverApply')}
          </button>
        </>
      )}
    </section>
  );
}
