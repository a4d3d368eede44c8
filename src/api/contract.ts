/**
 * The api contract: every request and event between the core and a front, declared once.
 *
 * Electron IPC (main/), the WebSocket of browser mode (src/server) and the tests' direct
 * calls all bind to these tables; input is parsed with the `input` schema where it enters
 * the core, answers with the `output` schema where they enter a front.
 *
 * Extending: add an entry to `requests` or `events` (issue 7 adds the engine's run
 * requests and events here). Channels are named `area:verb`; each becomes a named client
 * function (`plan:import-csv` → `planImportCsv`). Nothing else needs to change: the
 * bindings iterate these tables.
 */
import { z } from 'zod';
import { Plan, Rack, Server } from '../plan/schema.js';
import { FindingSchema } from './finding-schema.js';
import { bmcEvents, bmcRequests } from './bmc-contract.js';
import { handoverRequests } from './handover-contract.js';
import { runEvents, runRequests } from './run-contract.js';

export {
  Plan,
  Rack,
  Server,
  ROLES,
  NETWORK_PURPOSES,
  DISK_TYPES,
  DISK_USES,
  BOND_MODES,
} from '../plan/schema.js';
export type { Role, Network, Disk, Nic } from '../plan/schema.js';
export * from './run-contract.js';
export * from './handover-contract.js';
export * from './bmc-contract.js';

/** A request: what goes in, what comes back, and what it does (shown in docs/ui.md). */
export interface RequestDef<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  input: I;
  output: O;
}

function request<I extends z.ZodType, O extends z.ZodType>(input: I, output: O): RequestDef<I, O> {
  return { input, output };
}

const path = z.string().trim().min(1, { error: 'a file path is needed' });
const none = z.object({});

/** One phase of the runbook (src/runbook/phases.ts, RunbookPhase). */
export const RunPhase = z.object({
  id: z.string(),
  label: z.object({ en: z.string(), de: z.string() }),
  /** Changes nothing on the hosts (connect): no lock, no bundle, no plan errors block it. */
  readOnly: z.boolean(),
  /** The reset phase of this install phase, when the runbook has one. */
  reset: z.string().optional(),
  /** For a reset phase: the install phase whose work it removes. */
  resetOf: z.string().optional(),
  /** Earlier phases this one builds on. */
  needs: z.array(z.string()),
  /** Run only when named (os-install): not among the phases a plain install runs. */
  onRequest: z.boolean().optional(),
});
export type RunPhase = z.infer<typeof RunPhase>;

// In its own file so ./run-contract.ts can use it without importing this one (no cycle).
export { Severity, RuleFamily, FindingSchema, type FindingView } from './finding-schema.js';

export const Counts = z.object({ error: z.number(), warning: z.number(), info: z.number() });

/** A plan as a front holds it after `plan:new` or `plan:open`. */
export const OpenedPlan = z.object({
  /** Where it was read from; null for a new, never saved plan. */
  file: z.string().nullable(),
  /** The plan; null when the file has schema errors (then `findings` lists them). */
  plan: Plan.nullable(),
  findings: z.array(FindingSchema),
  counts: Counts,
});
export type OpenedPlan = z.infer<typeof OpenedPlan>;

export const Validation = z.object({ findings: z.array(FindingSchema), counts: Counts });
export type Validation = z.infer<typeof Validation>;

/** One network's address plan: which addresses are taken, by whom, and what is left. */
export const IpPlan = z.object({
  network: z.string(),
  cidr: z.string(),
  /** Usable host addresses in the CIDR (network and broadcast excluded). */
  size: z.number(),
  /** Addresses given to servers (from `servers[].addresses` and BMC addresses). */
  allocated: z.array(z.object({ address: z.string(), owner: z.string() })),
  /** Addresses reserved for infrastructure: gateway, DNS/NTP, virtual IPs. */
  reserved: z.array(z.object({ address: z.string(), owner: z.string() })),
  /** Addresses of the pool that are still free. */
  poolFree: z.number(),
  /** Size of the allocation pool; 0 when the network has none. */
  poolSize: z.number(),
});
export type IpPlan = z.infer<typeof IpPlan>;

/** What the site's hardware adds up to, per role, and what is left after losing a rack. */
export const Capacity = z.object({
  vcpu: z.number(),
  ramGiB: z.number(),
  /** Raw Ceph OSD capacity in TB. */
  cephRawTB: z.number(),
  /** Usable Ceph capacity in TB after replication. */
  cephUsableTB: z.number(),
  /** The same numbers with the worst rack lost; null when the plan has one rack or none. */
  rackLoss: z
    .object({
      rack: z.string(),
      vcpu: z.number(),
      ramGiB: z.number(),
      cephUsableTB: z.number(),
      /** True when more than half of the controllers remain. */
      controlPlaneQuorum: z.boolean(),
      /** Hostnames of the controllers in that rack. */
      controllersLost: z.array(z.string()),
      /** True when a majority of the Ceph monitors remains, placed at worst. */
      cephMonQuorum: z.boolean(),
    })
    .nullable(),
  /** The assumptions behind the figures (overcommit, replicas), as sentences. */
  assumptions: z.array(z.string()),
  /** The figures the assumptions use (overcommit, replicas…), to word them in any language. */
  assumptionValues: z.record(z.string(), z.number()).optional(),
  /** Power drawn per rack against its budget, in kW. */
  power: z.array(z.object({ rack: z.string(), usedKw: z.number(), budgetKw: z.number() })),
});
export type Capacity = z.infer<typeof Capacity>;

/**
 * The CSV column-mapping step: for each field the import understands (listed by
 * `csv:preview`, see docs/csv-import.md), the header of the column that fills it, or null
 * to leave the field empty.
 */
export const CsvMapping = z.record(z.string(), z.string().nullable());
export type CsvMapping = z.infer<typeof CsvMapping>;

export const CsvFieldInfo = z.object({
  field: z.string(),
  required: z.boolean(),
  description: z.string(),
});
export type CsvFieldInfo = z.infer<typeof CsvFieldInfo>;

/**
 * The most text a browser may upload as a plan or CSV (characters). A WebSocket frame holds
 * 16 MiB (./wire.ts) and the text travels as JSON, where newlines and quotes grow; a real
 * plan of 1,000 servers is under 1 MB.
 */
export const MAX_UPLOAD_CHARS = 8 * 1024 * 1024;
const uploadText = z.string().max(MAX_UPLOAD_CHARS, {
  error: `the file is larger than ${MAX_UPLOAD_CHARS / 1024 / 1024} MB, the most a browser may upload; put it into the served folder and open it by its path`,
});

const csvSource = z
  .object({ file: path.optional(), text: uploadText.optional() })
  .refine((s) => (s.file === undefined) !== (s.text === undefined), {
    error: 'give either the CSV file or its text',
  });

export const RecentFile = z.object({ file: z.string(), openedAt: z.string() });

/** The menu and shortcut commands a shell sends to the wizard. */
export const MenuCommand = z.enum([
  'new',
  'open',
  'open-recent',
  'save',
  'save-as',
  'import-csv',
  'export',
  'undo',
  'redo',
]);
export type MenuCommand = z.infer<typeof MenuCommand>;

/**
 * What a file dialog is for; `folder` picks a directory (the rendered configuration),
 * `handover` a file the install summary hands over (kubeconfig, clouds.yaml, CA: any name).
 */
export const FilePurpose = z.enum([
  'plan',
  'csv',
  'yaml',
  'report-html',
  'report-pdf',
  'folder',
  'handover',
]);
export type FilePurpose = z.infer<typeof FilePurpose>;

/** The install run a report summarises (see `handover:summary`). */
const reportRun = z.object({ planFile: path, runId: z.string().min(1) }).optional();

export const requests = {
  /** Which front this is and what it can do (native dialogs, PDF). */
  'app:info': request(
    none,
    z.object({
      mode: z.enum(['electron', 'browser', 'cli', 'test']),
      version: z.string(),
      /** Folder every path is relative to and confined in; null where the user picks any file. */
      root: z.string().nullable(),
      nativeDialogs: z.boolean(),
      /** True where the core can print a PDF itself (Electron); browsers use window.print. */
      pdf: z.boolean(),
      /** The demo site, when this front runs against the demo lab (src/demo); null otherwise. */
      demo: z.object({ planFile: z.string() }).nullable(),
    }),
  ),
  /** A new plan: `empty` is a skeleton with default networks, `demo` the Stuttgart sample. */
  'plan:new': request(z.object({ template: z.enum(['empty', 'demo']) }), OpenedPlan),
  /** Reads and validates a plan file; remembers it in the recent files. */
  'plan:open': request(z.object({ file: path }), OpenedPlan),
  /**
   * Reads a plan from its text (a file the browser's file picker uploaded) and validates
   * it; `name` is the uploaded file's name, used in messages. The plan has no file on the
   * server (`file: null`) until it is saved.
   */
  'plan:open-text': request(
    z.object({ name: z.string().trim().min(1), text: uploadText }),
    OpenedPlan,
  ),
  /**
   * Saves the plan as YAML, keeping the comments of the file it was opened from. Refuses
   * (`PlanChangedOnDisk`) when the file was changed by someone else since it was opened.
   */
  'plan:save': request(z.object({ file: path, plan: Plan }), z.object({ file: z.string() })),
  /**
   * Validates a plan as the user edits it. `plan` is unknown on purpose: a half-typed plan
   * comes back as schema findings instead of being refused.
   */
  'plan:validate': request(z.object({ plan: z.unknown() }), Validation),
  /** Fills missing server addresses from each network's pool (IPAM). */
  'plan:ipam': request(
    z.object({ plan: Plan }),
    z.object({ plan: Plan, assigned: z.number(), findings: z.array(FindingSchema) }),
  ),
  /** The address plan of every network. */
  'plan:ip-plan': request(z.object({ plan: Plan }), z.object({ networks: z.array(IpPlan) })),
  /** The capacity summary of the Review step. */
  'plan:capacity': request(z.object({ plan: Plan }), Capacity),
  /** Writes the plan as plain YAML to another file (no comments carried over). */
  'plan:export': request(z.object({ plan: Plan, file: path }), z.object({ file: z.string() })),
  /** The plan as plain YAML text, for a browser to download (what `plan:export` writes). */
  'plan:yaml': request(z.object({ plan: Plan }), z.object({ text: z.string() })),
  /**
   * Writes the rendered configuration (every file and command the runbook would use, per
   * host and step; docs/runbook-format.md) into a folder. Refuses (`PlanInvalid`) a plan
   * with errors, and a folder holding anything but an earlier render.
   */
  'plan:render': request(
    z.object({ plan: Plan, dir: path }),
    z.object({ dir: z.string(), files: z.number(), hosts: z.number() }),
  ),
  /** First rows, columns and a suggested column mapping of a customer's CSV inventory. */
  'csv:preview': request(
    csvSource,
    z.object({
      text: z.string(),
      columns: z.array(z.string()),
      rows: z.array(z.array(z.string())),
      rowCount: z.number(),
      /** The mapping detected from the header row. */
      mapping: CsvMapping,
      /** Every field the import understands, in the order the mapping step offers them. */
      fields: z.array(CsvFieldInfo),
    }),
  ),
  /** Turns a CSV into servers (and the racks they name) with the mapping the user chose. */
  'csv:import': request(
    z.object({ text: uploadText, mapping: CsvMapping, plan: Plan }),
    z.object({
      servers: z.array(Server),
      racks: z.array(Rack),
      /** What was assumed or ignored, each naming the line and column. */
      warnings: z.array(z.string()),
    }),
  ),
  /**
   * The handover report as a standalone HTML page (site, racks, IP plan, roles, capacity,
   * findings); with `run`, also that install's summary (`handover:summary`, no secrets).
   */
  'report:render': request(
    z.object({ plan: Plan, lang: z.enum(['en', 'de']), run: reportRun }),
    z.object({ html: z.string() }),
  ),
  /** Writes the handover report as HTML, or as PDF where `app:info` says `pdf`. */
  'report:export': request(
    z.object({
      plan: Plan,
      lang: z.enum(['en', 'de']),
      file: path,
      format: z.enum(['html', 'pdf']),
      run: reportRun,
    }),
    z.object({ file: z.string() }),
  ),
  /** Recently opened or saved plans, newest first. */
  'recent:list': request(none, z.object({ files: z.array(RecentFile) })),
  'recent:clear': request(none, z.object({ files: z.array(RecentFile) })),
  /** A native open dialog (Electron); `Unsupported` in browser mode, where the UI asks for a path. */
  'dialog:open': request(
    z.object({ purpose: FilePurpose }),
    z.object({ file: z.string().nullable() }),
  ),
  /** A native save dialog (Electron); `Unsupported` in browser mode. */
  'dialog:save': request(
    z.object({ purpose: FilePurpose, suggestedName: z.string() }),
    z.object({ file: z.string().nullable() }),
  ),
  /** Tells the shell whether there are unsaved changes, for its close guard and title. */
  'window:set-state': request(z.object({ dirty: z.boolean(), title: z.string() }), z.object({})),
  /**
   * The runbook's phases in run order (docs/runbook-format.md, "Phases"): the declared ones,
   * then their resets. The fronts list phases from here, never from a list of their own.
   */
  'run:phases': request(none, z.object({ phases: z.array(RunPhase) })),
  /** Connect, runs, logs and shells: ./run-contract.ts. */
  ...runRequests,
  /** The end of an install: ./handover-contract.ts. */
  ...handoverRequests,
  /** Discovery from the servers' BMCs: ./bmc-contract.ts. */
  ...bmcRequests,
} as const satisfies Record<string, RequestDef>;

export const events = {
  /** A menu item or accelerator of the shell was chosen. */
  'menu:command': z.object({ command: MenuCommand, file: z.string().optional() }),
  /** The recent files changed (another window, a save). */
  'recent:changed': z.object({ files: z.array(RecentFile) }),
  ...runEvents,
  ...bmcEvents,
} as const satisfies Record<string, z.ZodType>;

export type Requests = typeof requests;
export type Channel = keyof Requests;
export type Events = typeof events;
export type EventName = keyof Events;

/** What a caller passes for a channel. */
export type Input<C extends Channel> = z.input<Requests[C]['input']>;
/** What a handler receives for a channel, after parsing. */
export type ParsedInput<C extends Channel> = z.output<Requests[C]['input']>;
export type Output<C extends Channel> = z.output<Requests[C]['output']>;
export type EventPayload<E extends EventName> = z.output<Events[E]>;

export const CHANNELS = Object.keys(requests) as Channel[];
export const EVENT_NAMES = Object.keys(events) as EventName[];

export function isChannel(name: string): name is Channel {
  return Object.hasOwn(requests, name);
}

export function isEventName(name: string): name is EventName {
  return Object.hasOwn(events, name);
}
