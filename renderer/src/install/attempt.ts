/** An api call's error shown as a notice, for the Install page's buttons. */
import { useUiStore } from '../state/ui-store';

export function notifyError(message: string) {
  useUiStore.getState().notify({ kind: 'error', text: message });
}

/** Runs an api call and shows its error; resolves to the value or undefined. */
export async function attempt<T>(
  call: Promise<{ ok: true; value: T } | { ok: false; error: { message: string } }>,
): Promise<T | undefined> {
  const r = await call;
  if (r.ok) return r.value;
  notifyError(r.error.message);
  return undefined;
}
