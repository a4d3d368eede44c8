/**
 * The host-key dialog: an unknown key with its SHA256 fingerprint, to compare with what the
 * host shows on its console, then accept (for this session, or remembered) or refuse.
 */
import type { HostCheck } from '../../../src/api';
import { Modal } from '../components/Dialogs';
import { useOpT } from '../host-pages/texts';

export function HostKeyDialog(props: {
  check: HostCheck;
  onDecide(decision: 'accept-once' | 'accept' | 'refuse'): void;
}) {
  const t = useOpT();
  const { check } = props;
  return (
    <Modal title={t('hostKeyTitle')} onClose={() => props.onDecide('refuse')}>
      <div data-testid="hostkey-dialog">
        <p>
          <strong>{check.host}</strong> ({check.address}:{check.port}
          {check.via ? ` ${t('via')} ${check.via}` : ''})
        </p>
        <p>
          {check.keyType}{' '}
          <code className="fingerprint" data-testid="hostkey-fingerprint">
            {check.fingerprint}
          </code>
        </p>
        <p className="muted">{t('hostKeyText')}</p>
        <div className="toolbar">
          <button
            type="button"
            data-testid="hostkey-accept-once"
            onClick={() => props.onDecide('accept-once')}
          >
            {t('acceptOnce')}
          </button>
          <button
            type="button"
            data-testid="hostkey-accept"
            onClick={() => props.onDecide('accept')}
          >
            {t('acceptRemember')}
          </button>
          <button
            type="button"
            data-testid="hostkey-refuse"
            onClick={() => props.onDecide('refuse')}
          >
            {t('refuse')}
          </button>
        </div>
      </div>
    </Modal>
  );
}
