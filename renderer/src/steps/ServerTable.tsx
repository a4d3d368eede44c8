import { useVirtualizer } from '@tanstack/react-virtual';
import { useMemo, useRef, useState, useEffect } from 'react';
import type { Plan } from '../../../src/api';
import { isInt, isNumber } from '../components/Field';
import { useT, type TextKey } from '../i18n';
import { serverIndexOf } from '../logic/finding-steps';
import { useFindingsStore } from '../state/findings-store';
import { usePlanStore } from '../state/plan-store';
import { useUiStore } from '../state/ui-store';

type Server = Plan['servers'][number];

interface Column {
  key: string;
  label: TextKey;
  width: string;
  get(s: Server): string | number;
  /** Writes a typed value; absent for read-only columns. */
  set?(s: Server, text: string): void;
  valid?(text: string): boolean;
}

const COLUMNS: Column[] = [
  {
    key: 'hostname',
    label: 'hostname',
    width: '10rem',
    get: (s) => s.hostname,
    set: (s, v) => void (s.hostname = v),
  },
  {
    key: 'rack',
    label: 'rack',
    width: '5rem',
    get: (s) => s.rack,
    set: (s, v) => void (s.rack = v),
  },
  {
    key: 'position',
    label: 'position',
    width: '3.5rem',
    get: (s) => s.position,
    set: (s, v) => void (s.position = Number(v)),
    valid: isInt,
  },
  {
    key: 'units',
    label: 'units',
    width: '4.5rem',
    get: (s) => s.units,
    set: (s, v) => void (s.units = Number(v)),
    valid: isInt,
  },
  {
    key: 'model',
    label: 'model',
    width: '11rem',
    get: (s) => s.model,
    set: (s, v) => void (s.model = v),
  },
  { key: 'cpu', label: 'cpu', width: '6rem', get: (s) => `${s.cpu.sockets}×${s.cpu.cores}` },
  {
    key: 'memoryGiB',
    label: 'memory',
    width: '5.5rem',
    get: (s) => s.memoryGiB,
    set: (s, v) => void (s.memoryGiB = Number(v)),
    valid: isNumber,
  },
  { key: 'roles', label: 'roles', width: '10rem', get: (s) => s.roles.join(', ') },
  {
    key: 'addresses/mgmt',
    label: 'address',
    width: '8rem',
    get: (s) => s.addresses.mgmt ?? '',
    set: (s, v) => {
      if (v) s.addresses.mgmt = v;
      else delete s.addresses.mgmt;
    },
  },
];

const ROW_PX = 32;

function Cell({
  index,
  column,
  value,
  bad,
}: {
  index: number;
  column: Column;
  value: string | number;
  bad: boolean;
}) {
  const [draft, setDraft] = useState(String(value));
  useEffect(() => setDraft(String(value)), [value]);
  const path = `/servers/${index}/${column.key}`;
  if (!column.set)
    return (
      <span className="cell ro" data-path={path}>
        {column.key === 'roles' ? <RoleNames roles={String(value)} /> : value}
      </span>
    );
  const set = column.set;
  return (
    <input
      className="cell"
      data-path={path}
      aria-label={`${column.key} ${index + 1}`}
      aria-invalid={bad || (column.valid !== undefined && !column.valid(draft))}
      value={draft}
      onChange={(e) => {
        const text = e.target.value;
        setDraft(text);
        if (!column.valid || column.valid(text)) {
          usePlanStore.getState().edit((d) => set(d.servers[index]!, text), path);
        }
      }}
    />
  );
}

/** "controller, compute" in the wizard's language; the plan keeps the role ids. */
function RoleNames({ roles }: { roles: string }) {
  const t = useT();
  const known = new Set<string>(['controller', 'compute', 'storage']);
  return roles
    .split(', ')
    .map((r) => (known.has(r) ? t(r as TextKey) : r))
    .join(', ');
}

/** The server list: sortable, filterable, multi-select, inline and bulk edit, virtualised. */
export function ServerTable({ plan }: { plan: Plan }) {
  const t = useT();
  const selected = useUiStore((s) => s.selected);
  const select = useUiStore((s) => s.select);
  const focusPath = useUiStore((s) => s.focusPath);
  const findings = useFindingsStore((s) => s.findings);
  const [filter, setFilter] = useState('');
  const [sort, setSort] = useState<{ key: string; dir: 1 | -1 } | undefined>();
  const [anchor, setAnchor] = useState<number | undefined>();
  const [bulkField, setBulkField] = useState('rack');
  const [bulkValue, setBulkValue] = useState('');
  const scroller = useRef<HTMLDivElement>(null);

  const badPaths = useMemo(
    () => new Set(findings.filter((f) => f.severity === 'error').map((f) => f.path)),
    [findings],
  );
  const rows = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    let idx = plan.servers.map((_, i) => i);
    if (needle) {
      idx = idx.filter((i) => {
        const s = plan.servers[i]!;
        return COLUMNS.some((c) => String(c.get(s)).toLowerCase().includes(needle));
      });
    }
    if (sort) {
      const col = COLUMNS.find((c) => c.key === sort.key)!;
      idx.sort((a, b) => {
        const x = col.get(plan.servers[a]!);
        const y = col.get(plan.servers[b]!);
        const cmp =
          typeof x === 'number' && typeof y === 'number'
            ? x - y
            : String(x).localeCompare(String(y), undefined, { numeric: true });
        return cmp * sort.dir;
      });
    }
    return idx;
  }, [plan.servers, filter, sort]);

  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_PX,
    overscan: 8,
  });

  // A finding's jump lands on its row: scroll it into view, then focus the cell.
  useEffect(() => {
    if (!focusPath) return;
    const index = serverIndexOf(focusPath);
    if (index === undefined) return;
    const row = rows.indexOf(index);
    if (row < 0) return;
    virtual.scrollToIndex(row, { align: 'center' });
  }, [focusPath, rows, virtual]);

  const toggle = (index: number, shift: boolean) => {
    const next = new Set(selected);
    if (shift && anchor !== undefined) {
      const [a, b] = [rows.indexOf(anchor), rows.indexOf(index)].sort((x, y) => x - y);
      for (let r = a!; r <= b!; r++) next.add(rows[r]!);
    } else if (next.has(index)) next.delete(index);
    else next.add(index);
    setAnchor(index);
    select(next);
  };
  const allSelected = rows.length > 0 && rows.every((i) => selected.has(i));
  const bulkColumn = COLUMNS.find((c) => c.key === bulkField)!;
  const applyBulk = () => {
    if (!bulkColumn.set || (bulkColumn.valid && !bulkColumn.valid(bulkValue))) return;
    const set = bulkColumn.set;
    usePlanStore.getState().edit((d) => {
      for (const i of selected) set(d.servers[i]!, bulkValue);
    });
  };
  const grid = `2rem ${COLUMNS.map((c) => c.width).join(' ')}`;

  return (
    <div className="server-table">
      <div className="toolbar">
        <input
          type="search"
          placeholder={t('filter')}
          aria-label={t('filter')}
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
          data-testid="server-filter"
        />
        <span>
          {rows.length} / {plan.servers.length} · {selected.size} {t('selectedCount')}
        </span>
        <label>
          {t('bulkEdit')}{' '}
          <select
            value={bulkField}
            onChange={(e) => setBulkField(e.target.value)}
            aria-label={t('bulkEdit')}
          >
            {COLUMNS.filter((c) => c.set && c.key !== 'hostname' && c.key !== 'addresses/mgmt').map(
              (c) => (
                <option key={c.key} value={c.key}>
                  {t(c.label)}
                </option>
              ),
            )}
          </select>
        </label>
        <input
          value={bulkValue}
          onChange={(e) => setBulkValue(e.target.value)}
          aria-label={t('bulkEdit')}
          size={10}
        />
        <button type="button" disabled={selected.size === 0} onClick={applyBulk}>
          {t('apply')}
        </button>
      </div>
      <div role="table" aria-rowcount={rows.length} className="table">
        <div role="row" className="row head" style={{ gridTemplateColumns: grid }}>
          <span role="columnheader">
            <input
              type="checkbox"
              aria-label="all"
              checked={allSelected}
              onChange={() => select(allSelected ? [] : rows)}
            />
          </span>
          {COLUMNS.map((c) => (
            <button
              key={c.key}
              role="columnheader"
              type="button"
              className="sort"
              aria-sort={
                sort?.key === c.key ? (sort.dir === 1 ? 'ascending' : 'descending') : 'none'
              }
              onClick={() =>
                setSort((s) =>
                  s?.key === c.key
                    ? { key: c.key, dir: s.dir === 1 ? -1 : 1 }
                    : { key: c.key, dir: 1 },
                )
              }
            >
              {t(c.label)}
              {sort?.key === c.key ? (sort.dir === 1 ? ' ▲' : ' ▼') : ''}
            </button>
          ))}
        </div>
        <div ref={scroller} className="scroller" data-testid="server-rows">
          <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
            {virtual.getVirtualItems().map((item) => {
              const index = rows[item.index]!;
              const server = plan.servers[index]!;
              return (
                <div
                  key={index}
                  role="row"
                  className={`row${selected.has(index) ? ' selected' : ''}`}
                  data-testid={`row-${server.hostname}`}
                  style={{
                    gridTemplateColumns: grid,
                    transform: `translateY(${item.start}px)`,
                    height: ROW_PX,
                  }}
                >
                  <span role="cell">
                    <input
                      type="checkbox"
                      aria-label={`select ${server.hostname}`}
                      checked={selected.has(index)}
                      onChange={(e) => toggle(index, (e.nativeEvent as MouseEvent).shiftKey)}
                    />
                  </span>
                  {COLUMNS.map((c) => (
                    <span role="cell" key={c.key}>
                      <Cell
                        index={index}
                        column={c}
                        value={c.get(server)}
                        bad={badPaths.has(`/servers/${index}/${c.key}`)}
                      />
                    </span>
                  ))}
                </div>
              );
            })}
          </div>
        </div>
      </div>
    </div>
  );
}
