/**
 * What the menu, the toolbar and keyboard shortcuts do with files: new, open, save, export.
 * Native dialogs where the shell has them (Electron), our own path prompt in a browser.
 */
import type { ApiClient, FilePurpose, MenuCommand, Plan } from '../../src/api';
import { DICTIONARIES } from './i18n';
import { download, oversize } from './logic/browser-files';
import { askPath, useDialogStore } from './state/dialog-store';
import { seedFindings } from './state/findings-store';
import { selectDirty, usePlanStore } from './state/plan-store';
import { useUiStore } from './state/ui-store';

export interface AppInfo {
  mode: 'electron' | 'browser' | 'cli' | 'test';
  nativeDialogs: boolean;
  pdf: boolean;
  /** The demo site this front opens on start (serve --demo, npm start); null otherwise. */
  demo: { planFile: string } | null;
}

function text(key: keyof (typeof DICTIONARIES)['en']): string {
  return DICTIONARIES[useUiStore.getState().lang][key];
}

function fail(message: string): void {
  useUiStore.getState().notify({ kind: 'error', text: message });
}

function done(message: string): void {
  useUiStore.getState().notify({ kind: 'info', text: message });
}

export class Actions {
  /** The name of the plan file uploaded last, offered when it is first saved. */
  private uploadedName: string | undefined;

  constructor(
    private readonly api: ApiClient,
    readonly info: AppInfo,
  ) {}

  /** True when there is nothing unsaved, or the user agrees to drop it. */
  confirmDiscard(): boolean {
    return !selectDirty(usePlanStore.getState()) || window.confirm(text('discard'));
  }

  private async pick(purpose: FilePurpose, title: string, initial: string, save: boolean) {
    if (this.info.nativeDialogs) {
      const r = save
        ? await this.api.dialogSave({ purpose, suggestedName: initial })
        : await this.api.dialogOpen({ purpose });
      return r.ok ? r.value.file : null;
    }
    return askPath(title, initial);
  }

  async newPlan(template: 'empty' | 'demo'): Promise<void> {
    if (!this.confirmDiscard()) return;
    const r = await this.api.planNew({ template });
    if (!r.ok) return fail(r.error.message);
    seedFindings(r.value.plan!, r.value);
    usePlanStore.getState().load(r.value.plan!, null);
    this.uploadedName = undefined;
    useUiStore.getState().setStep('site');
  }

  async open(file?: string): Promise<void> {
    if (!this.confirmDiscard()) return;
    const chosen = file ?? (await this.pick('plan', text('openPlan'), '', false));
    if (!chosen) return;
    const r = await this.api.planOpen({ file: chosen });
    if (!r.ok) return fail(r.error.message);
    if (!r.value.plan) {
      return fail(r.value.findings.map((f) => `${f.line ?? '?'}: ${f.message}`).join('\n'));
    }
    seedFindings(r.value.plan, r.value);
    usePlanStore.getState().load(r.value.plan, r.value.file);
    this.uploadedName = undefined;
  }

  /**
   * Opens a plan file the browser's file picker chose (browser mode: the file is on the
   * user's computer, not in the served folder). Saving it then asks for a path.
   */
  async openUpload(file: File): Promise<void> {
    const tooBig = oversize(file, text('tooBig'));
    if (tooBig) return fail(tooBig);
    if (!this.confirmDiscard()) return;
    const r = await this.api.planOpenText({ name: file.name, text: await file.text() });
    if (!r.ok) return fail(r.error.message);
    if (!r.value.plan) {
      return fail(
        `${file.name}: ${r.value.findings.map((f) => `${f.line ?? '?'}: ${f.message}`).join('\n')}`,
      );
    }
    seedFindings(r.value.plan, r.value);
    usePlanStore.getState().load(r.value.plan, null);
    this.uploadedName = file.name;
    useUiStore.getState().setStep('site');
  }

  async save(saveAs = false): Promise<boolean> {
    const { file, history } = usePlanStore.getState();
    if (!history) return false;
    const plan = history.present;
    const target =
      !saveAs && file
        ? file
        : await this.pick(
            'plan',
            text('savePlan'),
            file ?? this.uploadedName ?? `${plan.site.name}.yaml`,
            true,
          );
    if (!target) return false;
    const r = await this.api.planSave({ file: target, plan });
    if (!r.ok) {
      fail(r.error.message);
      return false;
    }
    usePlanStore.getState().markSaved(r.value.file);
    done(`${text('saved')}: ${r.value.file}`);
    return true;
  }

  async exportFile(kind: 'yaml' | 'html' | 'pdf'): Promise<void> {
    const plan = usePlanStore.getState().history?.present;
    if (!plan) return;
    const base = plan.site.name;
    const purpose: FilePurpose =
      kind === 'yaml' ? 'yaml' : kind === 'html' ? 'report-html' : 'report-pdf';
    const suggested = kind === 'yaml' ? `${base}-export.yaml` : `${base}-report.${kind}`;
    if (this.info.mode === 'browser' && kind !== 'pdf') return this.downloadFile(kind, suggested);
    const target = await this.pick(purpose, text('export'), suggested, true);
    if (!target) return;
    const lang = useUiStore.getState().lang;
    const r =
      kind === 'yaml'
        ? await this.api.planExport({ plan, file: target })
        : await this.api.reportExport({ plan, lang, file: target, format: kind });
    if (!r.ok) return fail(r.error.message);
    done(`${text('written')}: ${r.value.file}`);
  }

  /**
   * Browser mode: the export comes to the user's computer as a download, not into a file
   * next to the server (which may be a jump host the user cannot reach with a file manager).
   */
  private async downloadFile(kind: 'yaml' | 'html', name: string): Promise<void> {
    const plan = usePlanStore.getState().history?.present;
    if (!plan) return;
    if (kind === 'yaml') {
      const r = await this.api.planYaml({ plan });
      if (!r.ok) return fail(r.error.message);
      download(name, r.value.text, 'application/yaml');
    } else {
      const r = await this.api.reportRender({ plan, lang: useUiStore.getState().lang });
      if (!r.ok) return fail(r.error.message);
      download(name, r.value.html, 'text/html');
    }
    done(`${text('downloaded')}: ${name}`);
  }

  /** Writes the rendered configuration into a folder the user picks. */
  async renderConfig(): Promise<void> {
    const plan = usePlanStore.getState().history?.present;
    if (!plan) return;
    const dir = await this.pick('folder', text('exportRender'), `${plan.site.name}-render`, true);
    if (!dir) return;
    const r = await this.api.planRender({ plan, dir });
    if (!r.ok) return fail(r.error.message);
    done(`${text('written')}: ${r.value.dir} (${r.value.files} files, ${r.value.hosts} hosts)`);
  }

  /** Shows the report in the page for the browser's print dialog (browser-mode PDF). */
  async printView(): Promise<void> {
    const plan = usePlanStore.getState().history?.present;
    if (!plan) return;
    const r = await this.api.reportRender({ plan, lang: useUiStore.getState().lang });
    if (!r.ok) return fail(r.error.message);
    useDialogStore.getState().show({ kind: 'print', html: r.value.html });
  }

  importCsv(): void {
    if (usePlanStore.getState().history) useDialogStore.getState().show({ kind: 'csv' });
  }

  /** Replaces the plan with IPAM's answer as one undoable step. */
  async runIpam(plan: Plan): Promise<void> {
    const r = await this.api.planIpam({ plan });
    if (!r.ok) return fail(r.error.message);
    usePlanStore.getState().replace(r.value.plan);
    done(`${r.value.assigned} ${text('ipamDone')}`);
  }

  run(command: MenuCommand, file?: string): void {
    switch (command) {
      case 'new':
        void this.newPlan('empty');
        break;
      case 'open':
        void this.open();
        break;
      case 'open-recent':
        void this.open(file);
        break;
      case 'save':
        void this.save();
        break;
      case 'save-as':
        void this.save(true);
        break;
      case 'import-csv':
        this.importCsv();
        break;
      case 'export':
        useUiStore.getState().setStep('review');
        break;
      case 'undo':
        usePlanStore.getState().undo();
        break;
      case 'redo':
        usePlanStore.getState().redo();
        break;
      default:
        throw new Error(`unknown command ${String(command satisfies never)}`);
    }
  }
}
