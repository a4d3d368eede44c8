import type { FindingView } from '../../../src/api';
import { stepOf, serverIndexOf } from '../logic/paths';
import { useUiStore } from '../state/ui-store';

/** A finding as a link that jumps to its field. */
export function FindingLink({ finding }: { finding: FindingView }) {
  return (
    <button
      type="button"
      className={`finding-link ${finding.severity}`}
      data-rule={finding.rule}
      onClick={() => {
        const ui = useUiStore.getState();
        const server = serverIndexOf(finding.path);
        if (server !== undefined) ui.select([server]);
        ui.jumpTo(stepOf(finding.path, finding.rule), finding.path);
      }}
    >
      <span className="sev">{finding.severity}</span> {finding.message}
      <small> — {finding.hint}</small>
      {finding.acknowledged && <small> ({finding.acknowledged.reason})</small>}
    </button>
  );
}
