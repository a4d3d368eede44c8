import { useDeferredValue, useState } from 'react';
import type { Plan } from '../../../src/api';
import { isInt, isNumber } from '../components/Field';
import { SelectionHardware } from '../editors/SelectionHardware';
import { useT } from '../i18n';
import { firstFree } from '../logic/racks';
import { usePlanStore } from '../state/plan-store';
import { DeleteServers } from './DeleteServers';
import { DiscoverPanel } from './DiscoverPanel';
import { RackView } from './RackView';
import { ServerTable } from './ServerTable';

/** A new server from a template, placed in the first rack with room. */
function newServer(plan: Plan): Plan['servers'][number] | undefined {
  for (const rack of plan.racks) {
    const position = firstFree(plan, rack.name, 1);
    if (position === undefined) continue;
    let n = plan.servers.length + 1;
    while (plan.servers.some((s) => s.hostname === `server-${n}`)) n++;
    return {
      hostname: `server-${n}`,
      rack: rack.name,
      position,
      units: 1,
      model: 'Server',
      cpu: { sockets: 2, cores: 16, threads: 2 },
      memoryGiB: 256,
      disks: [],
      nics: [],
      addresses: {},
      roles: [],
    };
  }
  return undefined;
}

export function HardwareStep({ plan }: { plan: Plan }) {
  const t = useT();
  const edit = usePlanStore((s) => s.edit);
  // The rack view follows edits at low priority, so a keystroke in the table paints first
  // (the table's cells keep their own draft, so they must not lag behind).
  const racksPlan = useDeferredValue(plan);
  const [rack, setRack] = useState({ name: '', units: '42', powerKw: '8' });
  const [discovering, setDiscovering] = useState(false);
  const rackOk =
    rack.name.trim() !== '' &&
    isInt(rack.units) &&
    isNumber(rack.powerKw) &&
    !plan.racks.some((r) => r.name === rack.name.trim());
  return (
    <section className="step" aria-labelledby="hw-title">
      <h2 id="hw-title">{t('stepHardware')}</h2>
      <h3>{t('servers')}</h3>
      <div className="toolbar">
        <button
          type="button"
          data-testid="add-server"
          disabled={plan.racks.length === 0}
          onClick={() => {
            const server = newServer(plan);
            if (server) edit((d) => void d.servers.push(server));
          }}
        >
          {t('addServer')}
        </button>
        <DeleteServers plan={plan} />
        <button
          type="button"
          data-testid="discover-open"
          disabled={discovering || plan.servers.length === 0}
          onClick={() => setDiscovering(true)}
        >
          {t('discoverBmc')}
        </button>
      </div>
      {discovering && <DiscoverPanel plan={plan} onClose={() => setDiscovering(false)} />}
      <ServerTable plan={plan} />
      <SelectionHardware plan={plan} />
      <h3>{t('racks')}</h3>
      <form
        className="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          if (!rackOk) return;
          edit(
            (d) =>
              void d.racks.push({
                name: rack.name.trim(),
                units: Number(rack.units),
                powerKw: Number(rack.powerKw),
              }),
          );
          setRack({ ...rack, name: '' });
        }}
      >
        <input
          aria-label={t('rack')}
          placeholder={t('rack')}
          value={rack.name}
          data-testid="rack-name"
          onChange={(e) => setRack({ ...rack, name: e.target.value })}
          size={8}
        />
        <label>
          {t('rackHeight')}{' '}
          <input
            value={rack.units}
            size={3}
            onChange={(e) => setRack({ ...rack, units: e.target.value })}
          />
        </label>
        <label>
          {t('powerBudget')}{' '}
          <input
            value={rack.powerKw}
            size={3}
            onChange={(e) => setRack({ ...rack, powerKw: e.target.value })}
          />
        </label>
        <button type="submit" disabled={!rackOk} data-testid="add-rack">
          {t('addRack')}
        </button>
      </form>
      <RackView plan={racksPlan} />
    </section>
  );
}
