/**
 * English and German text of acknowledging findings (the dialog, the accepted mark, the
 * withdraw button). The language is the wizard's; German must have every English key (the
 * type checks it).
 */
import { useUiStore } from '../state/ui-store';

const en = {
  ackAction: 'Acknowledge…',
  ackActionTitle: 'Accept this finding with a reason: it stays listed but no longer counts',
  ackTitle: 'Acknowledge finding',
  ackExplain:
    'The finding stays listed, marked accepted, and no longer counts as a warning. The reason is written into the plan and shown in the handover report. Errors cannot be acknowledged.',
  ackReason: 'Reason (required)',
  ackReasonPlaceholder:
    'Why this is acceptable for this site, for example: second rack arrives in Q3',
  ackBy: 'Accepted by (optional)',
  ackWholeRule: 'Accept every finding of this rule, not only this one',
  ackOk: 'Acknowledge',
  ackAccepted: 'accepted',
  ackAcceptedBy: 'accepted by',
  ackWithdraw: 'Withdraw',
  ackWithdrawTitle: 'Withdraw the acceptance: the finding counts again',
  ackWithdrawRule: 'Withdraw the acceptance of the whole rule: all its findings count again',
  cancel: 'Cancel',
};

export type AckTextKey = keyof typeof en;

const de: Record<AckTextKey, string> = {
  ackAction: 'Akzeptieren…',
  ackActionTitle:
    'Diesen Befund mit Begründung akzeptieren: er bleibt aufgeführt, zählt aber nicht mehr',
  ackTitle: 'Befund akzeptieren',
  ackExplain:
    'Der Befund bleibt aufgeführt, als akzeptiert markiert, und zählt nicht mehr als Warnung. Die Begründung wird in den Plan geschrieben und im Übergabebericht gezeigt. Fehler können nicht akzeptiert werden.',
  ackReason: 'Begründung (Pflicht)',
  ackReasonPlaceholder:
    'Warum das für diesen Standort vertretbar ist, zum Beispiel: zweites Rack kommt in Q3',
  ackBy: 'Akzeptiert von (optional)',
  ackWholeRule: 'Jeden Befund dieser Regel akzeptieren, nicht nur diesen',
  ackOk: 'Akzeptieren',
  ackAccepted: 'akzeptiert',
  ackAcceptedBy: 'akzeptiert von',
  ackWithdraw: 'Zurücknehmen',
  ackWithdrawTitle: 'Akzeptanz zurücknehmen: der Befund zählt wieder',
  ackWithdrawRule: 'Akzeptanz der ganzen Regel zurücknehmen: alle ihre Befunde zählen wieder',
  cancel: 'Abbrechen',
};

export const ACK_TEXTS = { en, de } as const;

/** The text function of the current language for acknowledging. */
export function useAckT(): (key: AckTextKey) => string {
  const lang = useUiStore((s) => s.lang);
  const dict: Record<AckTextKey, string> = ACK_TEXTS[lang];
  return (key) => dict[key];
}
