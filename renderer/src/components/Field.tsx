import { useEffect, useId, useMemo, useState } from 'react';
import { useFindingsStore } from '../state/findings-store';

interface FieldProps {
  label: string;
  /** JSON pointer of the field: findings there are shown here, and jumps land here. */
  path: string;
  value: string | number | undefined;
  onChange(value: string): void;
  type?: 'text' | 'number';
  hint?: string;
  /** Numbers commit only when they parse; the draft stays visible until then. */
  parse?: (text: string) => boolean;
}

/** A labelled input bound to one plan field, showing that field's findings under it. */
export function Field({ label, path, value, onChange, type = 'text', hint, parse }: FieldProps) {
  const id = useId();
  const shown = value === undefined ? '' : String(value);
  const [draft, setDraft] = useState(shown);
  useEffect(() => setDraft(shown), [shown]);
  const all = useFindingsStore((s) => s.findings);
  const findings = useMemo(() => all.filter((f) => f.path === path), [all, path]);
  const invalid = parse !== undefined && draft !== '' && !parse(draft);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        data-path={path}
        type={type === 'number' ? 'text' : 'text'}
        inputMode={type === 'number' ? 'decimal' : undefined}
        value={draft}
        aria-invalid={invalid || findings.some((f) => f.severity === 'error')}
        onChange={(e) => {
          setDraft(e.target.value);
          if (!parse || parse(e.target.value)) onChange(e.target.value);
        }}
      />
      {hint && <small className="hint">{hint}</small>}
      {findings.map((f, i) => (
        <small key={i} className={`finding ${f.severity}`}>
          {f.message}
        </small>
      ))}
    </div>
  );
}

export const isInt = (t: string) => /^\d+$/.test(t.trim());
export const isNumber = (t: string) => t.trim() !== '' && Number.isFinite(Number(t));
