/**
 * Typed errors of the core. Each has a stable `code` a front can switch on, a message a
 * consultant can act on (what happened, where, what to do next) and the underlying
 * `cause`. Fronts show `message`; logs and support bundles also keep `code`.
 */
export type ErrorCode =
  | 'PlanUnreadable'
  | 'PlanSyntax'
  | 'PlanTooNew'
  | 'PlanInvalid'
  | 'PlanChangedOnDisk'
  | 'CsvInvalid'
  | 'HostKeyUnknown'
  | 'HostKeyMismatch'
  | 'AuthFailed'
  | 'ConnectionFailed'
  | 'ConnectionLost'
  | 'CommandTimeout'
  | 'Cancelled'
  | 'StepFailed'
  | 'RunLocked'
  /** The cluster lock could not be written or read (no root rights, sudo refused). */
  | 'LockFailed'
  | 'RunNotFound'
  | 'JournalCorrupt'
  | 'BundleCorrupt'
  | 'BundleSignature'
  | 'BundleBuildFailed'
  | 'BundleRequired'
  | 'RunbookInvalid'
  | 'UploadFailed'
  | 'InvalidArgument'
  | 'WriteFailed'
  | 'Unsupported'
  /** The demo lab and a real site were about to meet (docs/demo.md, safety rules). */
  | 'DemoRefused'
  /** A file or Secret the install hands over is not on the site (yet), or could not be read. */
  | 'HandoverUnavailable'
  /** The BMC cannot do this (IPMI has no virtual media; a Redfish service lacks the resource). */
  | 'BmcUnsupported'
  /** The BMC did not answer, refused the login, or answered with an error. */
  | 'BmcFailed'
  /** A BMC's TLS certificate is not pinned yet: `detail.fingerprint` is what to accept. */
  | 'BmcCertificateUnknown'
  /** A BMC's TLS certificate differs from the pinned one: refused. */
  | 'BmcCertificateMismatch';

export class UstartError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable detail (a fingerprint, a path, a line number). */
  readonly detail: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; detail?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = code;
    this.code = code;
    this.detail = options.detail ?? {};
  }
}

export function isUstartError(e: unknown, code?: ErrorCode): e is UstartError {
  return e instanceof UstartError && (code === undefined || e.code === code);
}

/** For exhaustive switches: `default: throw unreachable(x)` where `x: never`. */
export function unreachable(value: never): Error {
  return new Error(`unreachable case: ${JSON.stringify(value)}`);
}

/** The message of anything thrown, for places that must print something. */
export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
