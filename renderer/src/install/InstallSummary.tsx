/**
 * The end of an install: the endpoints, where each credential lives, the files to hand
 * over, the log bundle and the report, and how long the run took (docs/connect-install.md,
 * "The install summary"). Secrets are not in the page until the user reveals one; it is then
 * read from the site (`handover:reveal`) and kept in this component's state only, gone when
 * it is hidden or the page is left. Downloads are read from the site when clicked: a browser
 * saves them through its own download, Electron through its save dialog.
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';
import type {
  CredentialLocation,
  HandoverItem,
  HandoverSecret,
  InstallSummary as Summary,
} from '../../../src/api';
import { DemoBadge } from '../components/DemoBadge';
import { useApp } from '../context';
import { duration } from '../host-pages/texts';
import { useDialogStore } from '../state/dialog-store';
import { usePlanStore } from '../state/plan-store';
import { useUiStore } from '../state/ui-store';
import './summary.css';
import { useSummaryT, type SummaryT } from './summary-texts';

/** Hands text to the browser as a file download (browser mode). */
function browserDownload(fileName: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.rel = 'noopener';
  document.body.append(a);
  a.click();
  a.remove();
  // The download has taken the blob's bytes once click() returned; the URL is not needed.
  queueMicrotask(() => URL.revokeObjectURL(url));
}

function notify(kind: 'info' | 'error', text: string) {
  useUiStore.getState().notify({ kind, text });
}

function credentialText(c: CredentialLocation, t: SummaryT): string {
  return c.kind === 'secret'
    ? t('secretIn', { ns: c.namespace, name: c.name, keys: c.keys.join(', ') })
    : t('fileOn', { path: c.path, host: c.host, mode: c.mode });
}

export function InstallSummary(props: {
  planFile: string;
  runId: string;
  /** The log-bundle button of the Install page, shown with the summary's own. */
  logBundle?: ReactNode;
}) {
  const { planFile, runId } = props;
  const { api, actions } = useApp();
  const t = useSummaryT();
  const lang = useUiStore((s) => s.lang);
  const [summary, setSummary] = useState<Summary | undefined>(undefined);
  const [revealed, setRevealed] = useState<Partial<Record<HandoverSecret, Record<string, string>>>>(
    {},
  );
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const ref = useRef<HTMLElement>(null);

  useEffect(() => {
    let gone = false;
    setSummary(undefined);
    setRevealed({});
    void api.handoverSummary({ planFile, runId }).then((r) => {
      if (gone) return;
      if (r.ok) setSummary(r.value);
      else notify('error', r.error.message);
    });
    return () => {
      gone = true;
    };
  }, [api, planFile, runId]);

  // An install ends on its summary: bring it into view once it is there.
  const ready = summary !== undefined;
  useEffect(() => {
    if (ready) ref.current?.scrollIntoView({ block: 'start' });
  }, [ready]);

  if (!summary) {
    return (
      <section className="install-summary" data-testid="install-summary" data-state="loading">
        <p className="muted">{t('loading')}</p>
      </section>
    );
  }

  const reveal = async (secret: HandoverSecret) => {
    setBusy(`reveal-${secret}`);
    const r = await api.handoverReveal({ planFile, secret });
    setBusy(undefined);
    if (!r.ok) return notify('error', r.error.message);
    setRevealed((cur) => ({ ...cur, [secret]: r.value.values }));
  };
  const hide = (secret: HandoverSecret) =>
    setRevealed((cur) => {
      const next = { ...cur };
      delete next[secret];
      return next;
    });

  const download = async (item: HandoverItem, fileName: string) => {
    setBusy(`download-${item}`);
    try {
      if (actions.info.nativeDialogs) {
        const picked = await api.dialogSave({ purpose: 'handover', suggestedName: fileName });
        if (!picked.ok || !picked.value.file) return;
        const r = await api.handoverDownload({ planFile, item, file: picked.value.file });
        if (!r.ok) return notify('error', r.error.message);
        notify('info', `${t('downloaded')}: ${r.value.file ?? fileName}`);
        return;
      }
      const r = await api.handoverDownload({ planFile, item });
      if (!r.ok) return notify('error', r.error.message);
      browserDownload(r.value.fileName, r.value.text ?? '', 'application/octet-stream');
    } finally {
      setBusy(undefined);
    }
  };

  const report = async () => {
    const plan = usePlanStore.getState().history?.present;
    if (!plan) return;
    const name = `${summary.site}-handover-${runId}.html`;
    const run = { planFile, runId };
    if (actions.info.nativeDialogs) {
      const picked = await api.dialogSave({ purpose: 'report-html', suggestedName: name });
      if (!picked.ok || !picked.value.file) return;
      const r = await api.reportExport({
        plan,
        lang,
        file: picked.value.file,
        format: 'html',
        run,
      });
      if (!r.ok) return notify('error', r.error.message);
      return notify('info', `${t('downloaded')}: ${r.value.file}`);
    }
    const r = await api.reportRender({ plan, lang, run });
    if (!r.ok) return notify('error', r.error.message);
    browserDownload(name, r.value.html, 'text/html');
  };
  /** The report as PDF: printed by the core where it can (Electron), else the print view. */
  const reportPdf = async () => {
    const plan = usePlanStore.getState().history?.present;
    if (!plan) return;
    const run = { planFile, runId };
    if (actions.info.pdf && actions.info.nativeDialogs) {
      const suggestedName = `${summary.site}-handover-${runId}.pdf`;
      const picked = await api.dialogSave({ purpose: 'report-pdf', suggestedName });
      if (!picked.ok || !picked.value.file) return;
      const r = await api.reportExport({ plan, lang, file: picked.value.file, format: 'pdf', run });
      if (!r.ok) return notify('error', r.error.message);
      return notify('info', `${t('downloaded')}: ${r.value.file}`);
    }
    const r = await api.reportRender({ plan, lang, run });
    if (!r.ok) return notify('error', r.error.message);
    useDialogStore.getState().show({ kind: 'print', html: r.value.html });
  };

  // Each Secret once, where it first appears: the reveal sits beside its first mention.
  const offered = new Set<HandoverSecret>();
  return (
    <section
      ref={ref}
      className="install-summary"
      data-testid="install-summary"
      data-state="ready"
      data-run={summary.runId}
    >
      <h3>
        {t('title')} {summary.demo && <DemoBadge testId="summary-demo-badge" />}
      </h3>
      <p>
        {t('duration')}:{' '}
        <b data-testid="summary-duration">
          {summary.durationMs !== undefined ? duration(summary.durationMs) : '—'}
        </b>{' '}
        · {t('phases')}: {summary.phases.join(', ')}
      </p>
      <p className="muted">{t('noSecrets')}</p>
      <table className="summary-endpoints">
        <thead>
          <tr>
            <th>{t('endpoint')}</th>
            <th>{t('address')}</th>
            <th>{t('credential')}</th>
          </tr>
        </thead>
        <tbody>
          {summary.endpoints.map((ep) => (
            <tr key={ep.id} data-testid={`endpoint-${ep.id}`} data-installed={String(ep.installed)}>
              <td>{t.endpoint(ep.id)}</td>
              <td>
                <code data-testid={`endpoint-url-${ep.id}`}>{ep.url ?? t('unknownAddress')}</code>
                {ep.problem && <div className="muted">{ep.problem}</div>}
                {ep.inCluster && (
                  <div className="muted">
                    {t('fromLaptop')} <code>{ep.inCluster.command}</code>
                  </div>
                )}
                {!ep.installed && <div className="muted">{t('notInstalled')}</div>}
              </td>
              <td>
                {ep.credentials.map((c, i) => {
                  const secret = c.kind === 'secret' ? c.reveal : undefined;
                  const first = secret !== undefined && !offered.has(secret);
                  if (secret) offered.add(secret);
                  const values = secret ? revealed[secret] : undefined;
                  return (
                    <div key={i} className="credential">
                      <span>{credentialText(c, t)}</span>
                      {first && secret && ep.installed && !values && (
                        <button
                          type="button"
                          data-testid={`reveal-${secret}`}
                          disabled={busy !== undefined}
                          onClick={() => void reveal(secret)}
                        >
                          {busy === `reveal-${secret}` ? t('revealing') : t('reveal')}
                        </button>
                      )}
                      {first && secret && values && (
                        <>
                          <dl className="revealed" data-testid={`revealed-${secret}`}>
                            {Object.entries(values).map(([k, v]) => (
                              <div key={k}>
                                <dt>{k}</dt>
                                <dd>
                                  <code data-testid={`secret-${secret}-${k}`}>{v}</code>
                                </dd>
                              </div>
                            ))}
                          </dl>
                          <button
                            type="button"
                            data-testid={`hide-${secret}`}
                            onClick={() => hide(secret)}
                          >
                            {t('hide')}
                          </button>
                        </>
                      )}
                    </div>
                  );
                })}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h4>{t('downloads')}</h4>
      <ul className="summary-downloads">
        {summary.downloads.map((d) => (
          <li key={d.item}>
            <button
              type="button"
              data-testid={`download-${d.item}`}
              disabled={!d.available || busy !== undefined}
              onClick={() => void download(d.item, d.fileName)}
            >
              {t('download')}
            </button>{' '}
            <b>{t.item(d.item)}</b> — <code>{d.fileName}</code>{' '}
            <span className="muted">({credentialText(d.source, t)})</span>
          </li>
        ))}
      </ul>
      <p>
        <button type="button" data-testid="summary-report" onClick={() => void report()}>
          {t('handoverReport')}
        </button>{' '}
        <button type="button" data-testid="summary-report-pdf" onClick={() => void reportPdf()}>
          {t('handoverReportPdf')}
        </button>{' '}
        {props.logBundle}
      </p>
    </section>
  );
}
