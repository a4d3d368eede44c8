/**
 * The notice at the foot of the page: dismissed with its button or Escape, and gone by
 * itself after a while (an error stays longer than news). The timer waits while the pointer
 * or the keyboard is on the notice, so a long message can be read to its end.
 */
import { useEffect, useState } from 'react';
import { useT } from '../i18n';
import { useUiStore, type Notice } from '../state/ui-store';

export const NOTICE_MS: Record<Notice['kind'], number> = { info: 8_000, error: 30_000 };

export function NoticeBar() {
  const t = useT();
  const notice = useUiStore((s) => s.notice);
  const [held, setHeld] = useState(false);
  useEffect(() => {
    if (!notice || held) return;
    const timer = setTimeout(() => {
      if (useUiStore.getState().notice === notice) useUiStore.getState().notify(undefined);
    }, NOTICE_MS[notice.kind]);
    return () => clearTimeout(timer);
  }, [notice, held]);
  useEffect(() => setHeld(false), [notice]);
  if (!notice) return null;
  const dismiss = () => useUiStore.getState().notify(undefined);
  return (
    <div
      className={`notice ${notice.kind}`}
      role={notice.kind === 'error' ? 'alert' : 'status'}
      data-testid="notice"
      data-expires-ms={NOTICE_MS[notice.kind]}
      onMouseEnter={() => setHeld(true)}
      onMouseLeave={() => setHeld(false)}
      onFocus={() => setHeld(true)}
      onBlur={() => setHeld(false)}
      onKeyDown={(e) => e.key === 'Escape' && dismiss()}
    >
      <span>{notice.text}</span>
      <button
        type="button"
        aria-label={t('dismiss')}
        title={t('dismiss')}
        data-testid="notice-dismiss"
        onClick={dismiss}
      >
        ×
      </button>
    </div>
  );
}
