import type { Plan } from '../../../src/api';
import { useUiStore } from '../state/ui-store';
import { BulkHardware } from './BulkHardware';
import { ServerHardware } from './ServerHardware';

/**
 * The hardware editor for the table's selection: one server's NICs and disks, or bulk edits
 * of several. A finding's jump selects its server, so its NIC or disk field is on screen.
 */
export function SelectionHardware({ plan }: { plan: Plan }) {
  const selected = useUiStore((s) => s.selected);
  const indices = [...selected].filter((i) => i < plan.servers.length).sort((a, b) => a - b);
  if (indices.length === 1) return <ServerHardware plan={plan} index={indices[0]!} />;
  if (indices.length > 1) return <BulkHardware plan={plan} indices={indices} />;
  return null;
}
