/**
 * The core service: the api contract implemented in plain Node. Every front binds to it —
 * Electron's main process, the browser-mode server and tests (`core.client`, direct calls).
 *
 * What differs per front comes in as ports (`dialogs`, `printPdf`, `window`): Electron
 * passes native dialogs and its PDF printer; browser mode passes none and the UI falls back
 * to typed paths and window.print.
 */
import {
  createFrontEvents,
  directClient,
  type ApiClient,
  type FrontEvents,
  type FilePurpose,
  type Handlers,
} from '../api/index.js';
import { UstartError } from '../errors.js';
import { allocateAddresses } from '../plan/ipam.js';
import { countBySeverity, validatePlan } from '../plan/index.js';
import { Renderer } from '../render/render.js';
import { loadSiteRunbook, sitePhases } from '../render/step-specs.js';
import { writeRender } from '../render/write.js';
import { writeAtomically } from '../util/fs.js';
import { importWithMapping, previewCsv, readCsvSource } from './csv.js';
import { pathPolicy } from './path-confinement.js';
import { PlanFiles, validateUnknown } from './plans.js';
import { recentFiles, type RecentEntry } from './recent.js';
import { renderReport } from './report.js';
import { capacityView, ipPlanView } from './views.js';
import { createHostPages, type HostPagesOptions } from './host-pages.js';
import { HandoverService } from './handover.js';
import { discoveryHandlers, type DiscoveryServiceOptions } from './discovery.js';

/** Native file dialogs (Electron); resolve null when the user cancels. */
export interface Dialogs {
  open(purpose: FilePurpose): Promise<string | null>;
  save(purpose: FilePurpose, suggestedName: string): Promise<string | null>;
}

export interface CoreOptions {
  mode: 'electron' | 'browser' | 'cli' | 'test';
  /** Folder for the core's own small files (recent files). Electron: userData. */
  stateDir: string;
  /** Confine every path to this folder (browser mode); undefined accepts any absolute path. */
  root?: string;
  dialogs?: Dialogs;
  /** Prints a standalone HTML page to PDF bytes (Electron's printToPDF). */
  printPdf?: (html: string) => Promise<Uint8Array>;
  /** The shell's window: title and the unsaved-changes guard. */
  window?: { setState(state: { dirty: boolean; title: string }): void };
  version?: string;
  /** The demo site this front opens on start (ustart serve --demo, npm start). */
  demo?: { planFile: string };
  now?: () => Date;
  /** Connect, runs, logs and shells: keychain, local terminals, step source (./host-pages.ts). */
  hostPages?: Omit<HostPagesOptions, 'events' | 'stateDir' | 'resolvePath'>;
  /** Discovery from BMCs (./discovery.ts): the environment its logins are read from, timeouts. */
  discovery?: Pick<DiscoveryServiceOptions, 'env' | 'timeoutMs' | 'connect'>;
}

export interface Core {
  readonly handlers: Handlers;
  readonly events: FrontEvents;
  /** A typed client calling the handlers directly (tests, benchmarks). */
  readonly client: ApiClient;
  dispose(): Promise<void>;
}

function unsupported(what: string): never {
  throw new UstartError('Unsupported', `${what} is not available in this front.`);
}

export function createCore(options: CoreOptions): Core {
  const events = createFrontEvents();
  const paths = pathPolicy(options.root);
  // Browser mode reads only regular files not reached through a final link, and checks the
  // opened descriptor is still inside the root (src/app/path-confinement.ts).
  const confined = paths.root === undefined ? {} : { noFollow: true, within: paths.root };
  const writeConfined = paths.root === undefined ? {} : { within: paths.root };
  const plans = new PlanFiles(confined);
  const recent = recentFiles(options.stateDir, options.now);
  const now = options.now ?? (() => new Date());
  const hostPages = createHostPages({
    ...options.hostPages,
    events,
    stateDir: options.stateDir,
    resolvePath: (file) => paths.resolve(file),
  });
  // The recent list lives in the state folder and is shared by every root served from it;
  // a browser-mode server shows only the files its own root confines it to.
  const inRoot = (files: RecentEntry[]) =>
    paths.root === undefined
      ? files
      : files.filter((f) => {
          try {
            paths.resolve(f.file);
            return true;
          } catch {
            return false;
          }
        });
  const remember = async (file: string) => {
    events.emit('recent:changed', { files: inRoot(await recent.add(file)) });
  };
  const handover = new HandoverService({
    loadPlan: async (planFile) => (await hostPages.runs.loadPlan(planFile)).plan,
    run: (planFile, runId) => hostPages.runs.get(planFile, runId),
    resolvePath: (file) => paths.resolve(file),
    async connect(planFile, plan, host) {
      const target = (await hostPages.access.targets(planFile, plan)).get(host);
      if (!target)
        throw new UstartError('InvalidArgument', `${host} is not a server of ${planFile}.`);
      const transport = await hostPages.access.transport(planFile, plan);
      try {
        return { conn: await transport.connect(target), transport };
      } catch (e) {
        await transport.dispose();
        throw e;
      }
    },
  });
  const report = async (
    plan: Parameters<typeof renderReport>[0]['plan'],
    lang: 'en' | 'de',
    run?: { planFile: string; runId: string },
  ) =>
    renderReport({
      plan,
      lang,
      findings: validatePlan(plan),
      ipPlan: allocateAddresses(plan).summary,
      capacity: capacityView(plan),
      ...(run ? { install: await handover.summary(run.planFile, run.runId) } : {}),
      generatedAt: now(),
    });

  const handlers: Handlers = {
    'app:info': () => ({
      mode: options.mode,
      version: options.version ?? '0.1.0',
      root: paths.root ?? null,
      nativeDialogs: options.dialogs !== undefined,
      pdf: options.printPdf !== undefined,
      demo: options.demo ?? null,
    }),
    'plan:new': ({ template }) => plans.create(template),
    'plan:open': async ({ file }) => {
      const abs = paths.resolve(file);
      const opened = await plans.open(abs);
      await remember(abs);
      return opened;
    },
    'plan:open-text': ({ name, text }) => plans.openText(name, text),
    'plan:save': async ({ file, plan }) => {
      const abs = paths.resolve(file);
      await plans.save(abs, plan);
      await remember(abs);
      return { file: abs };
    },
    'plan:validate': ({ plan }) => validateUnknown(plan),
    'plan:ipam': ({ plan }) => {
      const result = allocateAddresses(plan);
      return { plan: result.plan, assigned: result.allocations.length, findings: result.findings };
    },
    'plan:ip-plan': ({ plan }) => ({ networks: ipPlanView(allocateAddresses(plan).summary) }),
    'plan:capacity': ({ plan }) => capacityView(plan),
    'plan:export': async ({ plan, file }) => {
      const abs = paths.resolve(file);
      await plans.export(abs, plan);
      return { file: abs };
    },
    'plan:yaml': ({ plan }) => ({ text: plans.yaml(plan) }),
    'plan:render': async ({ plan, dir }) => {
      const errors = countBySeverity(validatePlan(plan)).error;
      if (errors > 0) {
        throw new UstartError(
          'PlanInvalid',
          `the plan has ${errors === 1 ? '1 error; fix it' : `${errors} errors; fix them`} (see Review) before rendering its configuration.`,
        );
      }
      const abs = paths.resolve(dir);
      const files = await writeRender(await Renderer.create(plan, await loadSiteRunbook()), abs);
      const hosts = new Set(plan.servers.map((s) => s.hostname));
      return { dir: abs, files: files.length, hosts: hosts.size };
    },
    'csv:preview': async ({ file, text }) =>
      previewCsv(
        await readCsvSource(
          file === undefined ? { text: text ?? '' } : { file: paths.resolve(file) },
          confined,
        ),
      ),
    'csv:import': ({ text, mapping, plan }) => importWithMapping(text, mapping, plan),
    'report:render': async ({ plan, lang, run }) => ({ html: await report(plan, lang, run) }),
    'report:export': async ({ plan, lang, file, format, run }) => {
      const abs = paths.resolve(file);
      const html = await report(plan, lang, run);
      if (format === 'html') await writeAtomically(abs, html, 0o644, writeConfined);
      else if (options.printPdf) {
        await writeAtomically(abs, await options.printPdf(html), 0o644, writeConfined);
      } else unsupported('Printing to PDF (use the print dialog of the browser)');
      return { file: abs };
    },
    'run:phases': () => ({ phases: sitePhases() }),
    'recent:list': async () => ({ files: inRoot(await recent.list()) }),
    'recent:clear': async () => {
      const files = inRoot(await recent.clear());
      events.emit('recent:changed', { files });
      return { files };
    },
    'dialog:open': async ({ purpose }) => ({
      file: options.dialogs ? await options.dialogs.open(purpose) : unsupported('A file dialog'),
    }),
    'dialog:save': async ({ purpose, suggestedName }) => ({
      file: options.dialogs
        ? await options.dialogs.save(purpose, suggestedName)
        : unsupported('A file dialog'),
    }),
    'window:set-state': (state) => {
      options.window?.setState(state);
      return {};
    },
    ...hostPages.handlers,
    'handover:summary': ({ planFile, runId }) => handover.summary(planFile, runId),
    'handover:download': async ({ planFile, item, file }) => {
      if (file) return handover.save(planFile, item, file);
      const { fileName, text } = await handover.fetch(planFile, item);
      return { fileName, text };
    },
    'handover:reveal': ({ planFile, secret }) => handover.reveal(planFile, secret),
    ...discoveryHandlers({
      ...options.discovery,
      stateDir: options.stateDir,
      events,
      secrets: hostPages.access.secrets,
    }),
  };
  return {
    handlers,
    events,
    client: directClient(handlers, events),
    async dispose() {
      await hostPages.dispose();
    },
  };
}
