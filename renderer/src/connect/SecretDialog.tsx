/**
 * Asks for a secret the SSH transport needs (`secret:needed`): a login password, a key's
 * passphrase. It goes to the core only; "remember" stores it in the OS keychain where the
 * desktop app has one, and is refused (with the reason) where it has none.
 */
import { useEffect, useState } from 'react';
import type { EventPayload } from '../../../src/api';
import { Modal } from '../components/Dialogs';
import { useApp } from '../context';
import { useOpT } from '../host-pages/texts';
import { useUiStore } from '../state/ui-store';

export function SecretDialog() {
  const { api } = useApp();
  const t = useOpT();
  const [asks, setAsks] = useState<EventPayload<'secret:needed'>[]>([]);
  const [value, setValue] = useState('');
  const [remember, setRemember] = useState(false);
  useEffect(() => api.on('secret:needed', (e) => setAsks((cur) => [...cur, e])), [api]);
  const ask = asks[0];
  if (!ask) return null;
  const { ref } = ask;
  const what =
    ref.kind === 'passphrase'
      ? `${t('passphraseOf')} ${ref.keyPath}`
      : ref.kind === 'sudo'
        ? `${t('sudoOf')} ${ref.user}@${ref.host}`
        : `${t('passwordOf')} ${ref.user}@${ref.host}`;
  const answer = (v: string | null) => {
    setAsks((cur) => cur.slice(1));
    setValue('');
    void api
      .secretProvide({ ref, value: v, remember: v !== null && remember, requestId: ask.requestId })
      .then((r) => {
        if (!r.ok) useUiStore.getState().notify({ kind: 'error', text: r.error.message });
      });
  };
  return (
    <Modal title={t('secretTitle')} onClose={() => answer(null)}>
      <form
        data-testid="secret-dialog"
        onSubmit={(e) => {
          e.preventDefault();
          answer(value);
        }}
      >
        <label>
          {what}
          <input
            type="password"
            autoComplete="off"
            autoFocus
            value={value}
            onChange={(e) => setValue(e.target.value)}
          />
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={remember}
            onChange={(e) => setRemember(e.target.checked)}
          />
          {t('remember')}
        </label>
        <div className="toolbar">
          <button type="submit">{t('give')}</button>
          <button type="button" onClick={() => answer(null)}>
            {t('decline')}
          </button>
        </div>
      </form>
    </Modal>
  );
}
