import { useT } from '../i18n';

/**
 * "Demo": shown beside the demo site and every demo run, so simulated servers are never
 * mistaken for a real site (docs/demo.md).
 */
export function DemoBadge({ testId = 'demo-badge' }: { testId?: string }) {
  const t = useT();
  return (
    <span className="badge demo" data-testid={testId} title={t('demoHint')}>
      {t('demo')}
    </span>
  );
}
