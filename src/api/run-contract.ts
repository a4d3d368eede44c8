/**
 * The contract of Connect, Install, live logs and Terminals (issue 7): merged into
 * `requests` and `events` of ./contract.ts, so every binding (IPC, WebSocket, tests) picks
 * these up like the wizard's.
 *
 * Streams (run events, shell output) are pushed as events after an explicit `attach`/`open`;
 * every pushed batch names the attachment or shell it belongs to, since events go to every
 * connected front and each keeps only its own.
 */
import { z } from 'zod';
import { FindingSchema } from './finding-schema.js';
import {
  Counts,
  Decision,
  HostStateName,
  PauseReason,
  PlannedStep,
  RunEventSchema,
  RunStateName,
  host,
  reason,
  stepId,
} from './run-events.js';

export {
  Decision,
  HostStateName,
  RunEventSchema,
  RunStateName,
  type RunEventView,
} from './run-events.js';

/** A plan file by path; runs live beside it in `.ustart/runs/`. */
const planFile = z.string().trim().min(1, { error: 'the plan must be saved to a file first' });
const runId = z.string().regex(/^[A-Za-z0-9._-]+$/, { error: 'not a run id' });
/** A run as listed (its journal folded) and, when it is running here, live details. */
export const RunInfo = z.object({
  runId: z.string(),
  state: RunStateName,
  startedAt: z.number(),
  finishedAt: z.number().optional(),
  demo: z.boolean(),
  counts: Counts,
  steps: z.array(
    PlannedStep.extend({
      state: HostStateName,
      reason: z.string().optional(),
      hostStates: z.record(
        z.string(),
        z.object({
          state: HostStateName,
          attempt: z.number(),
          exitCode: z.number().optional(),
          message: z.string().optional(),
          /** When the last attempt started and ended (ms): the Install page's estimate. */
          startedAt: z.number().optional(),
          finishedAt: z.number().optional(),
        }),
      ),
    }),
  ),
  /** True while an engine of this core runs it (then `attach` streams its events). */
  active: z.boolean(),
  /** The step the run waits on for a decision. */
  paused: z.object({ stepId: z.string(), reason: PauseReason }).optional(),
});
export type RunInfo = z.infer<typeof RunInfo>;

export const RunOptions = z.object({
  planFile,
  /** Phases to run (`connect`, `umetal`, `ustack`, `ugarden`); all install phases when absent. */
  phases: z.array(z.string()).optional(),
  /** Only these steps. */
  steps: z.array(stepId).optional(),
  /** Only these hosts. */
  hosts: z.array(host).optional(),
  /** Pause before every step (`run-paused` `before-step`) and wait for `run:decide`. */
  stepByStep: z.boolean().default(false),
  /** Pause when a step fails, for retry/skip/stop (default true in the UI). */
  pauseOnFailure: z.boolean().default(true),
  /**
   * The verified offline bundle an air-gapped site installs from (not needed to connect); a
   * run delivers it to the hosts as its umetal.bundle step, on any site it is given for.
   */
  bundle: z.object({ path: z.string().min(1), publicKey: z.string().min(1) }).optional(),
  /**
   * What the `os-install` phase needs besides the plan (docs/bare-metal.md, "As the runbook's
   * first phase"); the same inputs as `ustart run --phase os-install`. BMC passwords are not
   * here: they come from the core's BMC credentials or the secret dialog (`secret:needed` for
   * host `bmc:<address>`).
   */
  osInstall: z
    .object({
      /** A Debian mirror with bookworm and the installer's udebs. */
      mirrorUrl: z.url({ protocol: /^https?$/ }),
      /** This machine's address as the BMCs and the servers reach it. */
      advertise: z.string().trim().min(1),
      /** The HTTP port the ISOs are served on; any free one when absent. */
      port: z.int().min(1).max(65535).optional(),
      /** The SSH user's authorized_keys: OpenSSH public key lines (never a private key). */
      authorizedKeys: z.string().trim().min(1),
      /** Servers to reinstall although they answer on SSH (their OS disks are erased). */
      confirmReinstall: z.array(host).optional(),
      /** BMC user for BMCs the core's credentials file does not name. */
      bmcUser: z.string().trim().min(1).optional(),
      /** Redfish HTTPS port of the BMCs (443 when absent). */
      bmcPort: z.int().min(1).max(65535).optional(),
      /**
       * Accept the SSH host key each installer reports (shown with its fingerprint in that
       * server's log); without it the host-step fails at that point, asking to compare it.
       */
      acceptReportedHostKeys: z.boolean().default(false),
    })
    .optional(),
});
export type RunOptions = z.input<typeof RunOptions>;
/** The offline bundle given with a run: `ustart run --bundle PATH --bundle-key PUB`. */
export type RunBundle = NonNullable<RunOptions['bundle']>;

/** What a step will do on its hosts: shown before it runs in step-by-step mode. */
export const StepPreview = z.object({
  id: z.string(),
  title: z.string(),
  phase: z.string(),
  description: z.string().optional(),
  hosts: z.array(z.string()),
  check: z.string().optional(),
  /** The command the engine runs (the rendered runbook script is among `files`). */
  run: z.string(),
  sudo: z.boolean(),
  timeout: z.object({ ms: z.number(), mode: z.enum(['soft', 'hard']) }).optional(),
  retries: z.number(),
  files: z.array(
    z.object({
      path: z.string(),
      /** The hosts that get this file (a host's own configuration); every host when absent. */
      hosts: z.array(z.string()).optional(),
      mode: z.number().optional(),
      bytes: z.number(),
      /** The text of the file when it is text and small (256 KiB); otherwise absent. */
      text: z.string().optional(),
    }),
  ),
});
export type StepPreview = z.infer<typeof StepPreview>;

export const HostCheckState = z.enum([
  'ok',
  'unreachable',
  'auth-failed',
  'host-key-unknown',
  'host-key-changed',
]);
export type HostCheckState = z.infer<typeof HostCheckState>;

export const HostCheck = z.object({
  host: z.string(),
  address: z.string(),
  port: z.number(),
  user: z.string(),
  via: z.string().optional(),
  state: HostCheckState,
  message: z.string().optional(),
  /** The SHA256 fingerprint the host offered (`SHA256:…`), for the host-key dialog. */
  fingerprint: z.string().optional(),
  keyType: z.string().optional(),
  /** What known_hosts holds for it when the key changed. */
  knownFingerprints: z.array(z.string()).optional(),
});
export type HostCheck = z.infer<typeof HostCheck>;

/** How the laptop logs in; the plan's `access` is the default, this overrides it per plan. */
export const AccessSettings = z.object({
  user: z.string().trim().min(1),
  /** A private key file; null: the default keys (~/.ssh/id_*). */
  keyPath: z.string().nullable(),
  /** Use ssh-agent (SSH_AUTH_SOCK). */
  agent: z.boolean(),
  jumpHost: z
    .object({
      address: z.string().trim().min(1),
      port: z.number().int().min(1).max(65535).default(22),
      user: z.string().trim().min(1).optional(),
    })
    .nullable(),
});
export type AccessSettings = z.infer<typeof AccessSettings>;

/** Which secret: the same kinds the SSH transport asks for (src/ssh/credentials.ts). */
export const SecretRef = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('password'), host: z.string(), user: z.string() }),
  z.object({ kind: z.literal('passphrase'), keyPath: z.string() }),
  z.object({ kind: z.literal('sudo'), host: z.string(), user: z.string() }),
]);
export type SecretRef = z.infer<typeof SecretRef>;

/** Where secrets go: the OS keychain (Electron safeStorage) or this session's memory. */
export const SecretStoreInfo = z.object({
  kind: z.enum(['keychain', 'session']),
  /** False when the keychain refuses (no real secret store); `reason` says why. */
  canRemember: z.boolean(),
  reason: z.string().optional(),
});

const HostFactsView = z.object({
  hostname: z.string(),
  os: z.string(),
  kernel: z.string(),
  cpuModel: z.string(),
  cpus: z.number(),
  memoryGiB: z.number(),
  disks: z.array(z.object({ name: z.string(), sizeGB: z.number() })),
  macs: z.array(z.string()),
});

const MatrixCell = z.object({
  from: z.string(),
  to: z.string(),
  lossPercent: z.number().optional(),
  avgMs: z.number().nullable().optional(),
  mtuOk: z.boolean().optional(),
  ok: z.boolean(),
});

/** Facts beside the plan, preflight findings and the network matrix of a connect run. */
export const ConnectReport = z.object({
  runId: z.string(),
  state: RunStateName,
  hosts: z.array(
    z.object({
      host: z.string(),
      planned: z.object({
        cpus: z.number(),
        memoryGiB: z.number(),
        disks: z.array(z.object({ device: z.string(), sizeGB: z.number() })),
        macs: z.array(z.string()),
        os: z.string(),
      }),
      facts: HostFactsView.nullable(),
      /** Why facts are missing (the step failed there, the output did not parse). */
      problem: z.string().optional(),
    }),
  ),
  findings: z.array(FindingSchema),
  matrix: z.object({
    hosts: z.array(z.string()),
    networks: z.array(
      z.object({ network: z.string(), mtu: z.number(), cells: z.array(MatrixCell) }),
    ),
  }),
});
export type ConnectReport = z.infer<typeof ConnectReport>;

const request = <I extends z.ZodType, O extends z.ZodType>(input: I, output: O) => ({
  input,
  output,
});
const empty = z.object({});

export const runRequests = {
  /** The laptop's access settings for a plan (defaults from the plan's `access`). */
  'access:get': request(
    z.object({ planFile }),
    z.object({ settings: AccessSettings, secrets: SecretStoreInfo }),
  ),
  /** Saves the access settings for a plan (no secrets in them; a key path, not the key). */
  'access:set': request(z.object({ planFile, settings: AccessSettings }), z.object({})),
  /**
   * Gives a secret the transport asked for (`secret:needed`) or will ask for. `remember`
   * keeps it in the OS keychain (Electron, refused without a real secret store); otherwise
   * it lives in memory for this session only. Never written to a plan, log or journal.
   */
  'secret:provide': request(
    z.object({
      ref: SecretRef,
      /** Null: the user declines (that login method is then skipped). */
      value: z.string().nullable(),
      remember: z.boolean().default(false),
      /** The `secret:needed` this answers, if any. */
      requestId: z.number().int().optional(),
    }),
    z.object({ stored: z.enum(['keychain', 'session', 'none']) }),
  ),
  /** Forgets every secret this core holds (memory and keychain). */
  'secret:forget': request(empty, z.object({})),
  /** SSH to each planned host (or `hosts`): reachable, logged in, host key known? */
  'connect:check': request(
    z.object({ planFile, hosts: z.array(host).optional() }),
    z.object({ hosts: z.array(HostCheck) }),
  ),
  /**
   * The consultant's answer to an unknown host key shown with its fingerprint: `accept-once`
   * trusts exactly that key for this session, `accept` also records it in uStart's
   * known_hosts, `refuse` keeps refusing. A changed key is never accepted here.
   */
  'connect:host-key': request(
    z.object({
      planFile,
      host,
      fingerprint: z.string().regex(/^SHA256:/),
      decision: z.enum(['accept-once', 'accept', 'refuse']),
    }),
    z.object({}),
  ),
  /**
   * Runs the connect phase (facts and network probes) as a run with live logs, then
   * answers the facts beside the plan, the preflight findings and the network matrix.
   */
  'connect:gather': request(z.object({ planFile, hosts: z.array(host).optional() }), ConnectReport),
  /** The steps a run of these phases would have, with their hosts (before starting). */
  'run:steps': request(
    z.object({ planFile, phases: z.array(z.string()).optional() }),
    z.object({ steps: z.array(PlannedStep.extend({ description: z.string().optional() })) }),
  ),
  /** Starts a run; events follow through `run:attach`. */
  'run:start': request(RunOptions, z.object({ runId: z.string() })),
  /** Continues a run that ended or was interrupted: done host-steps are not run again. */
  'run:resume': request(
    z.object({
      planFile,
      runId,
      stepByStep: z.boolean().default(false),
      pauseOnFailure: z.boolean().default(true),
      /** Skip these steps up front, each with its reason. */
      skip: z.array(z.object({ step: stepId, reason })).optional(),
      /** `step` or `step@host` to run again even when interrupted without a check. */
      rerun: z.array(z.string()).optional(),
      /** The offline bundle (air-gapped sites); default: the one the last start gave. */
      bundle: RunOptions.shape.bundle,
      /** The os-install phase's inputs; default: those the last start gave. */
      osInstall: RunOptions.shape.osInstall,
    }),
    z.object({ runId: z.string() }),
  ),
  /** Cancels a running run: remote commands are killed, nothing new starts. */
  'run:cancel': request(z.object({ runId }), z.object({})),
  /** Answers a `run-paused` event (run, run the rest, skip with reason, retry, stop). */
  'run:decide': request(z.object({ runId, stepId, decision: Decision }), z.object({})),
  /**
   * Retries one step on one host: while the run is paused on that step's failure, as a
   * decision; after the run ended, by resuming it for that step and host only.
   */
  'run:retry': request(
    z.object({ planFile, runId, stepId, host }),
    z.object({ runId: z.string() }),
  ),
  /** Skips a step with a reason: a decision while paused on it, else a resume that skips it. */
  'run:skip': request(
    z.object({ planFile, runId, stepId, reason }),
    z.object({ runId: z.string() }),
  ),
  /** The runs of a plan, newest first. */
  'run:list': request(z.object({ planFile }), z.object({ runs: z.array(RunInfo) })),
  /** One run: its steps and host states now (journal, plus the live engine when running). */
  'run:get': request(z.object({ planFile, runId }), RunInfo),
  /** What a step will do, for the step-by-step pause. */
  'run:step-preview': request(z.object({ runId, stepId }), StepPreview),
  /**
   * Streams a running run's events as `run:events` batches for this attachment. `sinceSeq`
   * replays what came after it (0: from the start); `epoch` names the engine the sequence
   * numbers belong to (a resumed run starts a new one). `complete: false` says the replay
   * buffer had dropped some (read the log files with `run:log`).
   */
  'run:attach': request(
    z.object({
      runId,
      sinceSeq: z.number().int().nonnegative().default(0),
      epoch: z.string().optional(),
    }),
    z.object({
      attachId: z.string(),
      epoch: z.string(),
      complete: z.boolean(),
      /** The replayed events; later ones come as `run:events`. */
      events: z.array(RunEventSchema),
    }),
  ),
  /**
   * Acknowledges `chars` characters of log data as shown: past 100,000 unacknowledged
   * characters the run's SSH channels stop being read until the view catches up.
   */
  'run:ack': request(
    z.object({ attachId: z.string(), chars: z.number().int().nonnegative() }),
    z.object({}),
  ),
  'run:detach': request(z.object({ attachId: z.string() }), z.object({})),
  /**
   * A byte range of a step's log file on a host, cut to whole lines: `end` (exclusive,
   * default: the end of the file) and at most `maxBytes` before it; or `start` and at most
   * `maxBytes` after it.
   */
  'run:log': request(
    z.object({
      planFile,
      runId,
      stepId,
      host,
      start: z.number().int().nonnegative().optional(),
      end: z.number().int().nonnegative().optional(),
      maxBytes: z.number().int().min(1).max(4_194_304).default(262_144),
    }),
    z.object({ data: z.string(), start: z.number(), end: z.number(), size: z.number() }),
  ),
  /** Writes the support bundle (zip: plan, journal, logs, host logs, redacted) of a run. */
  'logs:collect': request(
    z.object({
      planFile,
      runId,
      out: z.string().trim().min(1),
      hostLogs: z.boolean().default(true),
    }),
    z.object({ out: z.string(), bytes: z.number() }),
  ),
  /** Opens an interactive SSH shell on a planned host (same host-key rules as runs). */
  'shell:open': request(
    z.object({
      planFile,
      host,
      cols: z.number().int().min(1).max(1000),
      rows: z.number().int().min(1).max(1000),
    }),
    z.object({ shellId: z.string() }),
  ),
  /** Opens a terminal on this laptop (Electron only; `Unsupported` elsewhere). */
  'shell:open-local': request(
    z.object({ cols: z.number().int().min(1).max(1000), rows: z.number().int().min(1).max(1000) }),
    z.object({ shellId: z.string() }),
  ),
  /** Keystrokes (or pasted text) for a shell. */
  'shell:write': request(
    z.object({ shellId: z.string(), data: z.string().max(1_048_576) }),
    z.object({}),
  ),
  'shell:resize': request(
    z.object({
      shellId: z.string(),
      cols: z.number().int().min(1).max(1000),
      rows: z.number().int().min(1).max(1000),
    }),
    z.object({}),
  ),
  /** Acknowledges shown shell output (flow control, as for logs). */
  'shell:ack': request(
    z.object({ shellId: z.string(), chars: z.number().int().nonnegative() }),
    z.object({}),
  ),
  'shell:close': request(z.object({ shellId: z.string() }), z.object({})),
} as const;

export const runEvents = {
  /** A batch of a run's events for one attachment, in `seq` order. */
  'run:events': z.object({
    attachId: z.string(),
    runId: z.string(),
    events: z.array(RunEventSchema),
  }),
  /**
   * The core let go of this attachment: its view left data unacknowledged past the lease
   * (a busy or hidden page). No more `run:events` come for it; a view still showing the
   * run attaches again from the last sequence number it saw.
   */
  'run:detached': z.object({ attachId: z.string(), runId: z.string() }),
  /** Runs of a plan started, ended or changed state (refresh the history). */
  'run:changed': z.object({ planFile: z.string(), runId: z.string(), state: RunStateName }),
  /**
   * The SSH transport needs a secret nobody gave yet; answer with `secret:provide` and this
   * `requestId` (or a null value to decline). Unanswered, it is declined after 5 minutes.
   */
  'secret:needed': z.object({ requestId: z.number().int(), ref: SecretRef }),
  /** Output of a shell, in order. */
  'shell:data': z.object({ shellId: z.string(), data: z.string() }),
  /** A shell ended. */
  'shell:exit': z.object({
    shellId: z.string(),
    code: z.number().nullable(),
    signal: z.string().nullable(),
    message: z.string().optional(),
  }),
} as const;
