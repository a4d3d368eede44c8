import { useState } from 'react';
import { DISK_TYPES, DISK_USES, type Plan } from '../../../src/api';
import { isNumber } from '../components/Field';
import { addDisks, addNics, type BulkResult } from '../logic/plan-edits';
import { usePlanStore } from '../state/plan-store';
import { useUiStore } from '../state/ui-store';
import { useEditorT, type EditorTextKey } from './texts';
import './editors.css';

type Disk = Plan['servers'][number]['disks'][number];

/** One line saying what a bulk edit did and what it left alone. */
function summary(result: BulkResult, t: (k: EditorTextKey) => string): string {
  const parts: string[] = [];
  if (result.changed.length) parts.push(`${t('bulkDone')} ${result.changed.join(', ')}`);
  const by = (reason: BulkResult['skipped'][number]['reason']) =>
    result.skipped.filter((s) => s.reason === reason).map((s) => s.server);
  if (by('exists').length) parts.push(`${t('bulkSkippedExists')} ${by('exists').join(', ')}`);
  if (by('no-mac').length) parts.push(`${t('bulkSkippedMac')} ${by('no-mac').join(', ')}`);
  return parts.join(' · ');
}

/** Applies a bulk edit as one undo step and tells what it did. */
function apply(run: (plan: Plan) => BulkResult, t: (k: EditorTextKey) => string): void {
  let result: BulkResult = { changed: [], skipped: [] };
  usePlanStore.getState().edit((d) => {
    result = run(d as Plan);
  });
  useUiStore.getState().notify({
    kind: result.changed.length ? 'info' : 'error',
    text: summary(result, t),
  });
}

/** Bulk edits of the selected servers' hardware: add a NIC (a MAC each) or a disk to each. */
export function BulkHardware({ plan, indices }: { plan: Plan; indices: readonly number[] }) {
  const t = useEditorT();
  const [nic, setNic] = useState({ name: 'eno2', speed: '25', network: '' });
  const [macs, setMacs] = useState<Record<string, string>>({});
  const [disk, setDisk] = useState({
    device: '/dev/sdb',
    size: '3840',
    type: 'ssd',
    use: 'ceph-osd',
  });
  const nicOk = nic.name.trim() !== '' && isNumber(nic.speed);
  const diskOk = disk.device.trim() !== '' && isNumber(disk.size);
  return (
    <section className="bulk-hardware" data-testid="bulk-hardware">
      <h3>
        {t('bulkHardware')} ({indices.length})
      </h3>
      <p className="hint">{t('bulkHint')}</p>
      <form
        className="bulk-form"
        data-testid="bulk-nic"
        onSubmit={(e) => {
          e.preventDefault();
          if (!nicOk) return;
          const byServer = new Map(
            indices.map((i) => [i, macs[plan.servers[i]!.hostname] ?? ''] as const),
          );
          apply(
            (p) =>
              addNics(
                p,
                indices,
                {
                  name: nic.name.trim(),
                  speedGbps: Number(nic.speed),
                  ...(nic.network ? { network: nic.network } : {}),
                },
                byServer,
              ),
            t,
          );
          // MACs belong to this NIC: the next NIC added needs its own.
          setMacs({});
        }}
      >
        <h4>{t('bulkAddNic')}</h4>
        <div className="toolbar">
          <label>
            {t('nicName')}{' '}
            <input
              value={nic.name}
              size={8}
              data-testid="bulk-nic-name"
              onChange={(e) => setNic({ ...nic, name: e.target.value })}
            />
          </label>
          <label>
            {t('speed')}{' '}
            <input
              value={nic.speed}
              size={4}
              aria-invalid={!isNumber(nic.speed)}
              data-testid="bulk-nic-speed"
              onChange={(e) => setNic({ ...nic, speed: e.target.value })}
            />
          </label>
          <label>
            {t('untagged')}{' '}
            <select
              value={nic.network}
              data-testid="bulk-nic-network"
              onChange={(e) => setNic({ ...nic, network: e.target.value })}
            >
              <option value="">{t('noNetwork')}</option>
              {plan.networks.map((n, i) => (
                <option key={i} value={n.name}>
                  {n.name}
                </option>
              ))}
            </select>
          </label>
        </div>
        <p className="hint">{t('bulkMacs')}</p>
        <div className="bulk-macs">
          {indices.map((i) => {
            const host = plan.servers[i]!.hostname;
            return (
              <label key={i}>
                {host}{' '}
                <input
                  value={macs[host] ?? ''}
                  size={17}
                  aria-label={`${t('mac')} ${host}`}
                  data-testid={`bulk-mac-${host}`}
                  onChange={(e) => setMacs({ ...macs, [host]: e.target.value })}
                />
              </label>
            );
          })}
        </div>
        <button type="submit" disabled={!nicOk} data-testid="bulk-nic-apply">
          {t('bulkApply')}
        </button>
      </form>
      <form
        className="bulk-form"
        data-testid="bulk-disk"
        onSubmit={(e) => {
          e.preventDefault();
          if (!diskOk) return;
          const d: Disk = {
            device: disk.device.trim(),
            sizeGB: Number(disk.size),
            type: disk.type as Disk['type'],
            use: disk.use as Disk['use'],
          };
          apply((p) => addDisks(p, indices, d), t);
        }}
      >
        <h4>{t('bulkAddDisk')}</h4>
        <div className="toolbar">
          <label>
            {t('device')}{' '}
            <input
              value={disk.device}
              size={12}
              onChange={(e) => setDisk({ ...disk, device: e.target.value })}
            />
          </label>
          <label>
            {t('sizeGB')}{' '}
            <input
              value={disk.size}
              size={6}
              aria-invalid={!isNumber(disk.size)}
              onChange={(e) => setDisk({ ...disk, size: e.target.value })}
            />
          </label>
          <label>
            {t('diskType')}{' '}
            <select value={disk.type} onChange={(e) => setDisk({ ...disk, type: e.target.value })}>
              {DISK_TYPES.map((v) => (
                <option key={v}>{v}</option>
              ))}
            </select>
          </label>
          <label>
            {t('diskUse')}{' '}
            <select value={disk.use} onChange={(e) => setDisk({ ...disk, use: e.target.value })}>
              {DISK_USES.map((v) => (
                <option key={v}>{v}</option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={!diskOk}>
            {t('bulkApply')}
          </button>
        </div>
      </form>
    </section>
  );
}
