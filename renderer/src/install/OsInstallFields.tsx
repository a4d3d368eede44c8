/**
 * The inputs of the runbook's os-install phase (docs/bare-metal.md, "As the runbook's first
 * phase"), shown while that phase is chosen: what the plan does not hold, as `ustart run
 * --phase os-install` takes it. Kept per plan in this browser (addresses and public keys, never
 * a secret: BMC passwords are asked by the secret dialog when the run opens a BMC).
 */
import type { RunOptions } from '../../../src/api';
import { useInstallT } from './texts';

export interface OsInstallFieldValues {
  mirrorUrl: string;
  advertise: string;
  port: string;
  authorizedKeys: string;
  bmcUser: string;
  bmcPort: string;
  /** Host names typed to allow reinstalling servers that answer on SSH (never kept). */
  confirmReinstall: string;
  acceptReportedHostKeys: boolean;
}

export const EMPTY_OS_INSTALL: OsInstallFieldValues = {
  mirrorUrl: 'http://deb.debian.org/debian',
  advertise: '',
  port: '',
  authorizedKeys: '',
  bmcUser: '',
  bmcPort: '443',
  confirmReinstall: '',
  acceptReportedHostKeys: false,
};

const key = (planFile: string) => `ustart.install.os.${planFile}`;

export function loadOsInstall(planFile: string): OsInstallFieldValues {
  try {
    const v = JSON.parse(localStorage.getItem(key(planFile)) ?? '{}') as Partial<
      Record<keyof OsInstallFieldValues, unknown>
    >;
    const text = (k: keyof OsInstallFieldValues) =>
      typeof v[k] === 'string' ? (v[k] as string) : (EMPTY_OS_INSTALL[k] as string);
    return {
      mirrorUrl: text('mirrorUrl'),
      advertise: text('advertise'),
      port: text('port'),
      authorizedKeys: text('authorizedKeys'),
      bmcUser: text('bmcUser'),
      bmcPort: text('bmcPort'),
      // Never carried over: which servers to wipe and whether to accept the installers' keys
      // are decided and typed per run.
      confirmReinstall: '',
      acceptReportedHostKeys: false,
    };
  } catch {
    return { ...EMPTY_OS_INSTALL };
  }
}

export function saveOsInstall(planFile: string, v: OsInstallFieldValues): void {
  const { acceptReportedHostKeys: _perRun, confirmReinstall: _typedPerRun, ...kept } = v;
  localStorage.setItem(key(planFile), JSON.stringify(kept));
}

type Problem = 'osMissing' | 'osBadPort' | 'osPrivateKey' | 'osUnknownServer';

const port = (text: string): number | undefined | 'bad' => {
  if (!text.trim()) return undefined;
  const n = Number(text.trim());
  return /^\d+$/.test(text.trim()) && n >= 1 && n <= 65535 ? n : 'bad';
};

/** The run's `osInstall` option, or what is wrong with the fields. */
export function osInstallOption(
  v: OsInstallFieldValues,
  servers: readonly string[],
): { ok: true; value: NonNullable<RunOptions['osInstall']> } | { ok: false; problem: Problem } {
  if (!v.mirrorUrl.trim() || !v.advertise.trim() || !v.authorizedKeys.trim())
    return { ok: false, problem: 'osMissing' };
  if (/PRIVATE KEY/.test(v.authorizedKeys)) return { ok: false, problem: 'osPrivateKey' };
  const http = port(v.port);
  const bmc = port(v.bmcPort);
  if (http === 'bad' || bmc === 'bad') return { ok: false, problem: 'osBadPort' };
  const reinstall = v.confirmReinstall.split(/[\s,]+/).filter(Boolean);
  if (reinstall.some((h) => !servers.includes(h))) return { ok: false, problem: 'osUnknownServer' };
  return {
    ok: true,
    value: {
      mirrorUrl: v.mirrorUrl.trim(),
      advertise: v.advertise.trim(),
      authorizedKeys: v.authorizedKeys.trim(),
      acceptReportedHostKeys: v.acceptReportedHostKeys,
      ...(http !== undefined ? { port: http } : {}),
      ...(bmc !== undefined ? { bmcPort: bmc } : {}),
      ...(v.bmcUser.trim() ? { bmcUser: v.bmcUser.trim() } : {}),
      ...(reinstall.length ? { confirmReinstall: reinstall } : {}),
    },
  };
}

export function OsInstallFields({
  value,
  onChange,
  servers,
  error,
}: {
  value: OsInstallFieldValues;
  onChange(next: OsInstallFieldValues): void;
  servers: readonly string[];
  error?: string | undefined;
}) {
  const ti = useInstallT();
  const set = (patch: Partial<OsInstallFieldValues>) => onChange({ ...value, ...patch });
  const text = (
    field: 'mirrorUrl' | 'advertise' | 'port' | 'bmcUser' | 'bmcPort',
    label: Parameters<typeof ti>[0],
    placeholder: string,
    size = 24,
  ) => (
    <label>
      {ti(label)}{' '}
      <input
        data-testid={`os-${field}`}
        value={value[field]}
        size={size}
        placeholder={placeholder}
        onChange={(e) => set({ [field]: e.target.value })}
      />
    </label>
  );
  return (
    <fieldset className="bundle-fields" data-testid="os-install-fields">
      <legend>
        {ti('osInstall')} <span className="muted">{ti('osInstallHint')}</span>
      </legend>
      {text('mirrorUrl', 'osMirror', 'http://mirror.site.example/debian', 32)}
      {text('advertise', 'osAdvertise', '10.10.0.250', 14)}
      {text('port', 'osPort', '8123', 6)}
      <label className="wide">
        {ti('osKeys')}{' '}
        <textarea
          data-testid="os-authorizedKeys"
          rows={2}
          cols={60}
          spellCheck={false}
          value={value.authorizedKeys}
          placeholder="ssh-ed25519 AAAA… consultant@laptop"
          onChange={(e) => set({ authorizedKeys: e.target.value })}
        />
      </label>
      {text('bmcUser', 'osBmcUser', 'root', 10)}
      {text('bmcPort', 'osBmcPort', '443', 5)}
      <label className="wide">
        {ti('osReinstall')}{' '}
        <input
          data-testid="os-confirmReinstall"
          value={value.confirmReinstall}
          size={32}
          placeholder={servers[0] ?? ''}
          autoComplete="off"
          spellCheck={false}
          onChange={(e) => set({ confirmReinstall: e.target.value })}
        />
      </label>
      <label className="check wide">
        <input
          type="checkbox"
          data-testid="os-acceptReportedHostKeys"
          checked={value.acceptReportedHostKeys}
          onChange={(e) => set({ acceptReportedHostKeys: e.target.checked })}
        />
        {ti('osAcceptKeys')}
      </label>
      {error && (
        <p className="error-text" role="alert" data-testid="os-install-error">
          {error}
        </p>
      )}
    </fieldset>
  );
}
