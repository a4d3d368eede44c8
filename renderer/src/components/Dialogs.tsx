import { useEffect, useRef, useState } from 'react';
import { CATALOGUES, type CsvFieldInfo, type CsvMapping } from '../../../src/api';
import { useApp } from '../context';
import { useT } from '../i18n';
import { oversize } from '../logic/browser-files';
import { mappingProblems, mergeImport } from '../logic/csv-mapping';
import { useDialogStore, type Dialog } from '../state/dialog-store';
import { usePlanStore } from '../state/plan-store';
import { useUiStore } from '../state/ui-store';

export function Modal({
  title,
  children,
  onClose,
}: {
  title: string;
  children: React.ReactNode;
  onClose(): void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  return (
    <dialog
      ref={ref}
      className="modal"
      aria-label={title}
      onCancel={(e) => {
        e.preventDefault();
        onClose();
      }}
    >
      <h2>{title}</h2>
      {children}
    </dialog>
  );
}

function PathDialog({ dialog }: { dialog: Extract<Dialog, { kind: 'path' }> }) {
  const t = useT();
  const [path, setPath] = useState(dialog.initial);
  return (
    <Modal title={dialog.title} onClose={() => dialog.resolve(null)}>
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          if (path.trim()) dialog.resolve(path.trim());
        }}
      >
        <label>
          {t('filePath')}{' '}
          <input
            autoFocus
            value={path}
            size={50}
            data-testid="path-input"
            onChange={(e) => setPath(e.target.value)}
          />
        </label>
        <p>
          <small>{t('filePathHint')}</small>
        </p>
        <div className="toolbar end">
          <button type="button" onClick={() => dialog.resolve(null)}>
            {t('cancel')}
          </button>
          <button type="submit" data-testid="path-ok">
            {t('ok')}
          </button>
        </div>
      </form>
    </Modal>
  );
}

interface Preview {
  text: string;
  columns: string[];
  rows: string[][];
  rowCount: number;
  fields: CsvFieldInfo[];
}

/** CSV import: choose the file, check the preview, map columns to fields, import. */
function CsvDialog({ onClose }: { onClose(): void }) {
  const lang = useUiStore((st) => st.lang);
  const csvFieldLabel = (field: string) =>
    (CATALOGUES[lang].csvField as Record<string, string>)[field] ?? field;
  const t = useT();
  const { api } = useApp();
  const [path, setPath] = useState('');
  const [preview, setPreview] = useState<Preview | undefined>();
  const [mapping, setMapping] = useState<CsvMapping>({});
  const [error, setError] = useState<string | undefined>();
  const load = async (source: { file: string } | { text: string }) => {
    const r = await api.csvPreview(source);
    if (!r.ok) return setError(r.error.message);
    setError(undefined);
    setPreview(r.value);
    setMapping(r.value.mapping);
  };
  const problems = preview ? mappingProblems(preview.fields, mapping) : [];
  const doImport = async () => {
    const plan = usePlanStore.getState().history?.present;
    if (!preview || !plan) return;
    const r = await api.csvImport({ text: preview.text, mapping, plan });
    if (!r.ok) return setError(r.error.message);
    usePlanStore.getState().replace(mergeImport(plan, r.value));
    useUiStore.getState().notify({
      kind: 'info',
      text: `${r.value.servers.length} ${t('servers')} · ${r.value.warnings.join(' · ')}`,
    });
    useUiStore.getState().setStep('hardware');
    onClose();
  };
  return (
    <Modal title={t('csvImport')} onClose={onClose}>
      <div className="toolbar">
        <label>
          {t('csvFile')}{' '}
          <input
            value={path}
            onChange={(e) => setPath(e.target.value)}
            placeholder={t('csvChoose')}
            size={40}
            data-testid="csv-path"
          />
        </label>
        <button
          type="button"
          disabled={!path.trim()}
          onClick={() => void load({ file: path.trim() })}
          data-testid="csv-load"
        >
          {t('csvLoad')}
        </button>
        <input
          type="file"
          accept=".csv,text/csv"
          aria-label={t('csvFile')}
          title={t('uploadCsvHint')}
          data-testid="csv-file"
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (!file) return;
            const tooBig = oversize(file, t('tooBig'));
            if (tooBig) return setError(tooBig);
            void file.text().then((text) => load({ text }));
          }}
        />
      </div>
      {error && (
        <pre className="error-text" role="alert">
          {error}
        </pre>
      )}
      {preview && (
        <>
          <div className="csv-preview">
            <table>
              <thead>
                <tr>
                  {preview.columns.map((c) => (
                    <th key={c}>{c}</th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {preview.rows.slice(0, 6).map((row, i) => (
                  <tr key={i}>
                    {row.map((cell, j) => (
                      <td key={j}>{cell}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
            <small>
              {preview.rowCount} {t('csvRows')}
            </small>
          </div>
          <h3>{t('csvMapping')}</h3>
          <div className="mapping" data-testid="csv-mapping">
            {preview.fields.map((f) => (
              <label key={f.field} title={f.description}>
                <span>
                  {csvFieldLabel(f.field)}
                  {f.required ? ` (${t('required')})` : ''}
                </span>
                <select
                  value={mapping[f.field] ?? ''}
                  data-field={f.field}
                  onChange={(e) => setMapping({ ...mapping, [f.field]: e.target.value || null })}
                >
                  <option value="">{t('csvIgnore')}</option>
                  {preview.columns.map((c) => (
                    <option key={c} value={c}>
                      {c}
                    </option>
                  ))}
                </select>
              </label>
            ))}
          </div>
          {problems.length > 0 && (
            <ul className="error-text" role="alert">
              {problems.map((p, i) => (
                <li key={i}>
                  {p.kind === 'required-missing'
                    ? `${csvFieldLabel(p.field)} ${t('requiredMissing')}`
                    : `"${p.column}" ${t('columnTwice')} (${p.fields.map(csvFieldLabel).join(', ')})`}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
      <div className="toolbar end">
        <button type="button" onClick={onClose}>
          {t('cancel')}
        </button>
        <button
          type="button"
          disabled={!preview || problems.length > 0}
          onClick={() => void doImport()}
          data-testid="csv-import"
        >
          {t('csvImportRows')}
        </button>
      </div>
    </Modal>
  );
}

/** The handover report in the page, for the browser's print dialog ("Save as PDF"). */
function PrintView({ html, onClose }: { html: string; onClose(): void }) {
  const t = useT();
  const doc = new DOMParser().parseFromString(html, 'text/html');
  const style = doc.querySelector('style')?.textContent ?? '';
  return (
    <div className="print-view" data-testid="report-view">
      <div className="toolbar no-print">
        <button type="button" onClick={() => window.print()}>
          {t('print')}
        </button>
        <button type="button" onClick={onClose}>
          {t('close')}
        </button>
      </div>
      <style>{style.replace(/body\{/g, '.report-body{')}</style>
      <div className="report-body" dangerouslySetInnerHTML={{ __html: doc.body.innerHTML }} />
    </div>
  );
}

export function Dialogs() {
  const dialog = useDialogStore((s) => s.dialog);
  const close = useDialogStore((s) => s.close);
  if (!dialog) return null;
  switch (dialog.kind) {
    case 'path':
      return <PathDialog dialog={dialog} />;
    case 'csv':
      return <CsvDialog onClose={close} />;
    case 'print':
      return <PrintView html={dialog.html} onClose={close} />;
    default:
      throw new Error(`unknown dialog ${String(dialog satisfies never)}`);
  }
}
