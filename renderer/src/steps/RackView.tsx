import { memo, useEffect, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import type { Plan } from '../../../src/api';
import { useT } from '../i18n';
import { canPlace, firstFree, powerW, unitAt, type Placement } from '../logic/racks';
import { usePlanStore } from '../state/plan-store';
import { useUiStore } from '../state/ui-store';

type Server = Plan['servers'][number];
type Rack = Plan['racks'][number];

/** Pixels per rack unit; a 42 U rack is 588 px, readable on a projector. */
export const U_PX = 14;
const HEAD = 18;
const WIDTH = 190;

export const ROLE_COLOURS: Record<string, string> = {
  controller: '#2563eb',
  compute: '#16a34a',
  storage: '#d97706',
  none: '#6b7280',
};

interface Drag {
  index: number;
  x: number;
  y: number;
}

/** Moves server `index` if it fits; otherwise says why not. Returns whether it moved. */
function tryMove(
  index: number,
  rack: string,
  position: number,
  t: ReturnType<typeof useT>,
): boolean {
  const plan = usePlanStore.getState().history?.present;
  if (!plan) return false;
  const placement: Placement = canPlace(plan, index, rack, position);
  const server = plan.servers[index]!;
  if (!placement.ok) {
    const why =
      placement.reason === 'collision'
        ? `${t('collision')} ${placement.with ?? ''}`
        : t('outOfRange');
    useUiStore
      .getState()
      .notify({ kind: 'error', text: `${server.hostname} ${why} (${rack} U${position})` });
    return false;
  }
  usePlanStore.getState().edit((d) => {
    d.servers[index]!.rack = rack;
    d.servers[index]!.position = position;
  });
  useUiStore
    .getState()
    .notify({ kind: 'info', text: `${server.hostname} ${t('moved')} ${rack} U${position}` });
  return true;
}

interface RackProps {
  rack: Rack;
  /** The servers in this rack with their index in `plan.servers`. */
  members: ReadonlyArray<{ server: Server; index: number }>;
  selected: ReadonlySet<number>;
  onGrab(index: number, e: PointerEvent): void;
  onKey(index: number, e: KeyboardEvent): void;
}

const RackSvg = memo(
  function RackSvg({ rack, members, selected, onGrab, onKey }: RackProps) {
    const t = useT();
    const height = rack.units * U_PX;
    const usedKw = members.reduce((sum, m) => sum + powerW(m.server), 0) / 1000;
    const share = Math.min(1, usedKw / rack.powerKw);
    return (
      <figure className="rack" data-testid={`rack-${rack.name}`}>
        <figcaption>
          {rack.name} · {rack.units} {t('position')}
        </figcaption>
        <svg
          width={WIDTH}
          height={height + HEAD}
          viewBox={`0 0 ${WIDTH} ${height + HEAD}`}
          data-rack={rack.name}
          data-units={rack.units}
          role="group"
          aria-label={`${t('rack')} ${rack.name}`}
        >
          <rect x={24} y={HEAD - 2} width={WIDTH - 28} height={height + 2} className="rack-frame" />
          {Array.from({ length: rack.units }, (_, i) => {
            const u = rack.units - i;
            return (
              <g key={u}>
                <line
                  x1={24}
                  x2={WIDTH - 4}
                  y1={HEAD + i * U_PX}
                  y2={HEAD + i * U_PX}
                  className="u-line"
                />
                {(u % 5 === 0 || u === 1) && (
                  <text x={2} y={HEAD + i * U_PX + U_PX - 3} className="u-label">
                    {u}
                  </text>
                )}
              </g>
            );
          })}
          {members.map(({ server, index }) => {
            const y = HEAD + (rack.units - (server.position + server.units - 1)) * U_PX;
            const role = server.roles[0] ?? 'none';
            return (
              <g
                key={index}
                className={`server-block${selected.has(index) ? ' selected' : ''}`}
                data-testid={`block-${server.hostname}`}
                data-server={index}
                tabIndex={0}
                role="button"
                aria-label={`${server.hostname}, U${server.position}, ${server.roles.join(', ') || '-'}`}
                onPointerDown={(e) => onGrab(index, e)}
                onKeyDown={(e) => onKey(index, e)}
              >
                <rect
                  x={26}
                  y={y + 1}
                  width={WIDTH - 32}
                  height={server.units * U_PX - 2}
                  rx={2}
                  fill={ROLE_COLOURS[role]}
                />
                <text x={30} y={y + U_PX - 3} className="block-label">
                  {server.hostname}
                </text>
              </g>
            );
          })}
        </svg>
        <div className="power" title={`${t('power')}: ${usedKw.toFixed(1)} / ${rack.powerKw} kW`}>
          <div
            className={`power-used${usedKw > rack.powerKw ? ' over' : ''}`}
            style={{ width: `${share * 100}%` }}
          />
          <span>
            {usedKw.toFixed(1)} / {rack.powerKw} kW
          </span>
        </div>
      </figure>
    );
  },
  (a, b) =>
    a.rack === b.rack &&
    a.selected === b.selected &&
    a.members.length === b.members.length &&
    a.members.every((m, i) => m.server === b.members[i]!.server && m.index === b.members[i]!.index),
);

/** Every rack drawn to scale; drag a server (or use the arrow keys) to move it. */
export function RackView({ plan }: { plan: Plan }) {
  const t = useT();
  const selected = useUiStore((s) => s.selected);
  const [drag, setDrag] = useState<Drag | undefined>();

  const byRack = new Map<string, Array<{ server: Server; index: number }>>();
  plan.servers.forEach((server, index) => {
    const list = byRack.get(server.rack) ?? [];
    list.push({ server, index });
    byRack.set(server.rack, list);
  });

  // Listeners go on at the pointerdown itself: an effect would run after the next paint,
  // and a quick drag could be released before it, leaving the drop unseen.
  const stopDrag = useRef<(() => void) | undefined>(undefined);
  useEffect(() => () => stopDrag.current?.(), []);

  const onGrab = (index: number, e: PointerEvent) => {
    e.preventDefault();
    stopDrag.current?.();
    setDrag({ index, x: e.clientX, y: e.clientY });
    const move = (ev: globalThis.PointerEvent) =>
      setDrag((d) => (d ? { ...d, x: ev.clientX, y: ev.clientY } : d));
    const drop = (ev: globalThis.PointerEvent) => {
      stop();
      const svg = document
        .elementsFromPoint(ev.clientX, ev.clientY)
        .find(
          (el): el is SVGSVGElement => el instanceof SVGSVGElement && el.dataset.rack !== undefined,
        );
      const server = usePlanStore.getState().history?.present.servers[index];
      if (!svg || !server) return;
      const box = svg.getBoundingClientRect();
      // The pointer marks the server's top unit, as where the user grabbed it.
      const top = unitAt(Number(svg.dataset.units), ev.clientY - box.top - HEAD, U_PX);
      tryMove(index, svg.dataset.rack!, top - server.units + 1, t);
    };
    const stop = () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', drop);
      stopDrag.current = undefined;
      setDrag(undefined);
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', drop);
    stopDrag.current = stop;
  };
  const onKey = (index: number, e: KeyboardEvent) => {
    const current = usePlanStore.getState().history?.present;
    const server = current?.servers[index];
    if (!current || !server) return;
    const racks = current.racks.map((r) => r.name);
    const at = racks.indexOf(server.rack);
    if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
      e.preventDefault();
      tryMove(index, server.rack, server.position + (e.key === 'ArrowUp' ? 1 : -1), t);
    } else if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') {
      e.preventDefault();
      const target = racks[at + (e.key === 'ArrowRight' ? 1 : -1)];
      if (!target) return;
      const fits = canPlace(current, index, target, server.position).ok;
      const position = fits ? server.position : firstFree(current, target, server.units, index);
      if (position !== undefined) tryMove(index, target, position, t);
    }
  };

  const dragged = drag ? plan.servers[drag.index] : undefined;
  return (
    <div className="racks" aria-label={t('racks')}>
      {plan.racks.map((rack) => (
        <RackSvg
          key={rack.name}
          rack={rack}
          members={byRack.get(rack.name) ?? EMPTY}
          selected={selected}
          onGrab={onGrab}
          onKey={onKey}
        />
      ))}
      {drag && dragged && (
        <div className="drag-ghost" style={{ left: drag.x + 8, top: drag.y + 8 }}>
          {dragged.hostname}
        </div>
      )}
    </div>
  );
}

const EMPTY: ReadonlyArray<{ server: Server; index: number }> = [];
