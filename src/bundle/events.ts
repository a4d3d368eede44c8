/**
 * Machine-readable progress of bundle work, for the UI and the CLI's progress bar. Events
 * are past tense (STYLE.md, "Events and state"); byte counts are cumulative within a phase.
 */

export type BundlePhase =
  | 'resolve-packages'
  | 'download'
  | 'hash'
  | 'write'
  | 'verify-signature'
  | 'verify-entries'
  | 'upload'
  | 'configure-host';

/** One problem found while verifying; `entry` names the entry, member or part concerned. */
export interface BundleProblem {
  kind:
    | 'bad-signature'
    | 'unsigned'
    | 'bad-manifest'
    | 'missing'
    | 'extra'
    | 'wrong-size'
    | 'wrong-digest'
    | 'truncated'
    | 'path-escape'
    | 'duplicate'
    | 'not-a-file'
    | 'bad-part';
  entry: string;
  message: string;
}

export type BundleEvent =
  | { type: 'phase-started'; phase: BundlePhase; totalBytes?: number; totalItems?: number }
  | {
      type: 'progressed';
      phase: BundlePhase;
      doneBytes: number;
      totalBytes?: number;
      item?: string;
      /** Bytes of `item` done so far, where items travel at once (a push's upload lanes). */
      itemDoneBytes?: number;
      /** Bytes `item` needs in all, where known (an image's blobs still to download). */
      itemTotalBytes?: number;
    }
  | { type: 'item-finished'; phase: BundlePhase; item: string }
  | { type: 'problem-found'; problem: BundleProblem }
  /** A dropped link was reopened and the item resumes (uploads continue where they stopped). */
  | { type: 'retried'; phase: BundlePhase; item: string; attempt: number; message: string }
  | { type: 'phase-finished'; phase: BundlePhase };

export type BundleEventListener = (event: BundleEvent) => void;

/**
 * Throttles `progressed` events to at most one per `intervalMs` per phase, so a UI is not
 * flooded by a multi-gigabyte stream; every other event passes at once.
 */
export function throttleProgress(
  listener: BundleEventListener | undefined,
  intervalMs = 100,
): BundleEventListener {
  let last = 0;
  return (event) => {
    if (!listener) return;
    if (event.type === 'progressed') {
      const now = performance.now();
      if (now - last < intervalMs) return;
      last = now;
    }
    listener(event);
  };
}
