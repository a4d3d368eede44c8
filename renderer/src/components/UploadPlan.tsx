/**
 * Browser mode: open a plan file from the user's own computer through the browser's file
 * picker (Open… takes a path in the folder the server works in).
 */
import { useRef } from 'react';
import { useApp } from '../context';
import { useT } from '../i18n';

export function UploadPlan() {
  const t = useT();
  const { actions } = useApp();
  const input = useRef<HTMLInputElement>(null);
  if (actions.info.mode !== 'browser') return null;
  return (
    <>
      <button
        type="button"
        title={t('uploadPlanHint')}
        data-testid="upload-plan"
        onClick={() => input.current?.click()}
      >
        {t('upload')}
      </button>
      <input
        ref={input}
        type="file"
        accept=".yaml,.yml,application/yaml,text/yaml"
        hidden
        data-testid="upload-plan-file"
        aria-label={t('uploadPlanHint')}
        onChange={(e) => {
          const file = e.target.files?.[0];
          // Cleared so choosing the same file again is a change too.
          e.target.value = '';
          if (file) void actions.openUpload(file);
        }}
      />
    </>
  );
}
