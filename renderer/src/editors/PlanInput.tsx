import { useEffect, useMemo, useState } from 'react';
import type { FindingView } from '../../../src/api';
import { useFindingsStore } from '../state/findings-store';

/** The findings about `path` (or a field under it) and about any of `also`, worst first. */
export function useFindingsAt(path: string, also: readonly string[] = []): FindingView[] {
  const all = useFindingsStore((s) => s.findings);
  const key = also.join('\n');
  return useMemo(() => {
    const exact = new Set([path, ...(key ? key.split('\n') : [])]);
    const rank = { error: 0, warning: 1, info: 2 } as const;
    return all
      .filter((f) => exact.has(f.path) || f.path.startsWith(`${path}/`))
      .sort((a, b) => rank[a.severity] - rank[b.severity]);
  }, [all, path, key]);
}

/** The attributes that mark a field with its findings: red for an error, amber for a warning. */
export function findingMarks(findings: readonly FindingView[], localProblem?: string) {
  const worst = findings[0]?.severity;
  const messages = [...(localProblem ? [localProblem] : []), ...findings.map((f) => f.message)];
  return {
    'aria-invalid': localProblem !== undefined || worst === 'error',
    'data-finding': worst === 'warning' ? 'warning' : undefined,
    title: messages.length ? messages.join('\n') : undefined,
  };
}

interface PlanInputProps {
  /** JSON pointer of the field: findings there mark it, and a finding's jump lands here. */
  path: string;
  /** Further pointers whose findings mark this field (a pool's start and end show `/pool`). */
  also?: readonly string[];
  label: string;
  value: string;
  /** Writes the text into the plan; called once the text passes `problem`. */
  commit(text: string): void;
  /** Why the text cannot be written yet (shown, not written), or undefined. */
  problem?(text: string): string | undefined;
  /** `change`: every keystroke is written. `blur`: written on Enter or on leaving the field. */
  commitOn?: 'change' | 'blur';
  size?: number;
  testId?: string;
}

/** A table cell's input bound to one plan field, marked with that field's findings. */
export function PlanInput({
  path,
  also,
  label,
  value,
  commit,
  problem,
  commitOn = 'change',
  size,
  testId,
}: PlanInputProps) {
  const [draft, setDraft] = useState(value);
  useEffect(() => setDraft(value), [value]);
  const findings = useFindingsAt(path, also);
  const local = draft === value ? undefined : problem?.(draft);
  const write = () => {
    if (draft !== value && !problem?.(draft)) commit(draft);
  };
  return (
    <input
      className="cell"
      data-path={path}
      data-testid={testId}
      aria-label={label}
      size={size}
      value={draft}
      {...findingMarks(findings, local)}
      onChange={(e) => {
        const text = e.target.value;
        setDraft(text);
        if (commitOn === 'change' && !problem?.(text)) commit(text);
      }}
      onBlur={commitOn === 'blur' ? write : undefined}
      onKeyDown={
        commitOn === 'blur'
          ? (e) => {
              if (e.key === 'Enter') write();
              if (e.key === 'Escape') setDraft(value);
            }
          : undefined
      }
    />
  );
}

/** A select bound to one plan field, marked with that field's findings. */
export function PlanSelect({
  path,
  also,
  label,
  value,
  options,
  onChange,
  testId,
}: {
  path: string;
  also?: readonly string[];
  label: string;
  value: string;
  options: readonly { value: string; label: string }[];
  onChange(value: string): void;
  testId?: string;
}) {
  const findings = useFindingsAt(path, also);
  return (
    <select
      data-path={path}
      data-testid={testId}
      aria-label={label}
      value={value}
      {...findingMarks(findings)}
      onChange={(e) => onChange(e.target.value)}
    >
      {options.map((o) => (
        <option key={o.value} value={o.value}>
          {o.label}
        </option>
      ))}
    </select>
  );
}
