/**
 * The end of an install: what a run hands over (docs/connect-install.md, "The install
 * summary"). `assembleSummary` turns a plan and a run into the endpoints, where each
 * credential lives and the downloads — plain data, no secret; `HandoverService` reads from
 * the first controller what the summary and its buttons need, when they are asked for.
 *
 * Where things are on the site is the runbook's (assets/runbook) and the render's
 * (src/render) choice; the names here are taken from there, not guessed:
 * - /etc/kubernetes/admin.conf: kubeadm's admin kubeconfig (lib.sh KUBECONFIG), mode 0600
 *   (docs/upstream-facts.md#kubeadm.admin-conf-mode);
 * - /var/lib/ustart/out/garden-kubeconfig.yaml: scripts/ugarden/kubeconfig.sh, mode 0600;
 * - /var/lib/ustart/garden/api-address: lib.sh garden_api_address_file (ugarden.openstack-objects);
 * - Secrets: monitoring/grafana-admin (monitoring.sh), ustart-git/gitea-admin (git-server.sh),
 *   flux-system/garden-git (flux.sh), yaook/keystone-admin (docs/upstream-facts.md#yaook.admin-credentials),
 *   yaook/root-ca (report.ts ROOT_CA), garden/<cluster>-kubeconfig (#clusterctl.init-flags).
 */
import type {
  CredentialLocation,
  EndpointId,
  HandoverItem,
  HandoverSecret,
  HostStateName,
  InstallSummary,
  RunInfo,
  SummaryDownload,
  SummaryEndpoint,
} from '../api/index.js';
import type { RunEvent } from '../engine/index.js';
import { UstartError, messageOf } from '../errors.js';
import { endpointFqdn } from '../plan/endpoints.js';
import type { Plan, Server } from '../plan/schema.js';
import { NODE_PORTS } from '../render/generators/monitoring.js';
import { GIT_URL } from '../render/generators/ugarden.js';
import { sitePhases } from '../render/step-specs.js';
import { installPhases } from '../runbook/phases.js';
import { shQuote } from '../ssh/remote-exec.js';
import type { HostConnection, Transport } from '../ssh/transport.js';
import { writeAtomically } from '../util/fs.js';
import { ROOT_CA } from './report.js';

export const ADMIN_KUBECONFIG = '/etc/kubernetes/admin.conf';
export const GARDEN_KUBECONFIG = '/var/lib/ustart/out/garden-kubeconfig.yaml';
export const GARDEN_API_ADDRESS = '/var/lib/ustart/garden/api-address';
export const GARDEN_SSH_KEY = '/var/lib/ustart/out/garden-ssh-key';

/** The Secrets the summary can reveal, and the keys it shows of each. */
export const REVEALABLE: Record<
  HandoverSecret,
  { namespace: string; name: string; keys: string[] }
> = {
  'grafana-admin': {
    namespace: 'monitoring',
    name: 'grafana-admin',
    keys: ['admin-user', 'admin-password'],
  },
  'keystone-admin': {
    namespace: 'yaook',
    name: 'keystone-admin',
    keys: [
      'OS_USERNAME',
      'OS_PASSWORD',
      'OS_PROJECT_NAME',
      'OS_USER_DOMAIN_NAME',
      'OS_PROJECT_DOMAIN_NAME',
    ],
  },
  'gitea-admin': { namespace: 'ustart-git', name: 'gitea-admin', keys: ['username', 'password'] },
};

/** The phases whose endpoints and downloads this summary knows (the runbook declares all). */
type InstallPhase = 'umetal' | 'ustack' | 'ugarden';

export function firstController(plan: Plan): Server {
  const first = plan.servers.find((s) => s.roles.includes('controller'));
  if (!first) {
    throw new UstartError(
      'PlanInvalid',
      'the plan has no controller, so no install to summarise; give a server the role controller (Roles step).',
    );
  }
  return first;
}

/** The workload cluster's name, as src/render/generators/ugarden.ts names it. */
export const gardenClusterName = (plan: Plan) => `${plan.site.name}-garden-01`;

/**
 * What the summary needs of a run: a `run:get` answer, or what a front folded from the
 * run's events (`ustart demo`).
 */
export type SummaryRun = Pick<RunInfo, 'runId' | 'state' | 'demo' | 'startedAt' | 'finishedAt'> & {
  steps: readonly { phase: string; state: HostStateName }[];
};

/** Folds a run's events into what the summary needs (a front that watched the run live). */
export function summaryRunOf(events: readonly RunEvent[]): SummaryRun | undefined {
  const started = events.find((e) => e.type === 'run-started');
  if (started?.type !== 'run-started') return undefined;
  const states = new Map<string, HostStateName>(started.steps.map((s) => [s.id, 'pending']));
  let finished: { time: number; state: SummaryRun['state'] } | undefined;
  for (const e of events) {
    if (e.type === 'step-finished') states.set(e.stepId, e.state);
    else if (e.type === 'step-skipped') states.set(e.stepId, 'skipped');
    else if (e.type === 'run-finished') finished = { time: e.time, state: e.state };
  }
  return {
    runId: started.runId,
    state: finished?.state ?? 'running',
    demo: started.demo === true,
    startedAt: started.time,
    ...(finished ? { finishedAt: finished.time } : {}),
    steps: started.steps.map((s) => ({ phase: s.phase, state: states.get(s.id) ?? 'pending' })),
  };
}

/** A phase counts as installed by a run when it had steps and all succeeded or were skipped. */
function phasesDone(run: SummaryRun): Set<string> {
  const done = new Set<string>();
  for (const phase of installPhases(sitePhases())) {
    const steps = run.steps.filter((s) => s.phase === phase);
    if (steps.length && steps.every((s) => s.state === 'succeeded' || s.state === 'skipped'))
      done.add(phase);
  }
  return done;
}

export interface SummaryInput {
  planFile: string;
  plan: Plan;
  run: SummaryRun;
  /** What the first controller holds as the workload cluster's API address, if read. */
  gardenApi?: { address: string | null; problem?: string };
}

/** The summary of an install run: endpoints, credential locations, downloads, duration. */
export function assembleSummary({ planFile, plan, run, gardenApi }: SummaryInput): InstallSummary {
  const first = firstController(plan);
  const host = first.hostname;
  const done = phasesDone(run);
  const secret = (
    namespace: string,
    name: string,
    keys: string[],
    reveal?: HandoverSecret,
  ): CredentialLocation => ({
    kind: 'secret',
    cluster: 'management',
    namespace,
    name,
    keys,
    ...(reveal ? { reveal } : {}),
  });
  const revealable = (s: HandoverSecret) =>
    secret(REVEALABLE[s].namespace, REVEALABLE[s].name, REVEALABLE[s].keys, s);
  const file = (path: string, download?: HandoverItem): CredentialLocation => ({
    kind: 'file',
    host,
    path,
    mode: '0600',
    ...(download ? { download } : {}),
  });
  const vip = plan.kubernetes.controlPlaneVip;
  const grafana = `http://${vip}:${NODE_PORTS.grafana}/`;
  const endpoint = (
    id: EndpointId,
    phase: InstallPhase,
    url: string | null,
    credentials: CredentialLocation[],
    extra: Partial<SummaryEndpoint> = {},
  ): SummaryEndpoint => ({ id, phase, url, installed: done.has(phase), credentials, ...extra });
  const cluster = gardenClusterName(plan);
  const adminConf = file(ADMIN_KUBECONFIG, 'admin-kubeconfig');
  const endpoints: SummaryEndpoint[] = [
    endpoint('kubernetes-api', 'umetal', `https://${vip}:6443`, [adminConf]),
    endpoint('grafana', 'umetal', grafana, [revealable('grafana-admin')]),
    // Logs are in Loki, which Grafana has as a data source (monitoring.ts): Explore shows them.
    endpoint('logs', 'umetal', `${grafana}explore`, [revealable('grafana-admin')]),
    endpoint('prometheus', 'umetal', `http://${vip}:${NODE_PORTS.prometheus}/`, []),
    endpoint('alertmanager', 'umetal', `http://${vip}:${NODE_PORTS.alertmanager}/`, []),
    endpoint('keystone', 'ustack', `https://${endpointFqdn(plan, 'keystone')}/v3`, [
      revealable('keystone-admin'),
      secret(ROOT_CA.namespace, ROOT_CA.secret, [ROOT_CA.key]),
    ]),
    endpoint('horizon', 'ustack', `https://${endpointFqdn(plan, 'horizon')}/`, [
      revealable('keystone-admin'),
    ]),
    endpoint('git', 'ugarden', GIT_URL, [revealable('gitea-admin')], {
      inCluster: { command: 'kubectl -n ustart-git port-forward svc/gitea-http 3000:3000' },
    }),
    endpoint(
      'flux',
      'ugarden',
      GIT_URL,
      [secret('flux-system', 'garden-git', ['username', 'password'])],
      {
        inCluster: { command: 'kubectl -n flux-system get gitrepositories,kustomizations' },
      },
    ),
    endpoint(
      'garden-api',
      'ugarden',
      gardenApi?.address ? `https://${gardenApi.address}:6443` : null,
      [
        file(GARDEN_KUBECONFIG, 'garden-kubeconfig'),
        secret('garden', `${cluster}-kubeconfig`, ['value']),
        file(GARDEN_SSH_KEY),
      ],
      {
        ...(gardenApi?.problem ? { problem: gardenApi.problem } : {}),
      },
    ),
  ];
  const site = plan.site.name;
  const download = (
    item: HandoverItem,
    fileName: string,
    source: CredentialLocation,
    phase: InstallPhase,
    isSecret = true,
  ): SummaryDownload => ({
    item,
    fileName,
    source,
    available: done.has(phase),
    secret: isSecret,
  });
  const downloads: SummaryDownload[] = [
    download('admin-kubeconfig', `${site}-admin.kubeconfig`, adminConf, 'umetal'),
    download(
      'garden-kubeconfig',
      `${cluster}.kubeconfig`,
      file(GARDEN_KUBECONFIG, 'garden-kubeconfig'),
      'ugarden',
    ),
    download('clouds-yaml', 'clouds.yaml', revealable('keystone-admin'), 'ustack'),
    download(
      'root-ca',
      `${site}-root-ca.crt`,
      secret(ROOT_CA.namespace, ROOT_CA.secret, [ROOT_CA.key]),
      'ustack',
      false,
    ),
  ];
  const durationMs = run.finishedAt !== undefined ? run.finishedAt - run.startedAt : undefined;
  return {
    planFile,
    runId: run.runId,
    site,
    demo: run.demo,
    state: run.state,
    phases: installPhases(sitePhases()).filter((p) => run.steps.some((s) => s.phase === p)),
    startedAt: run.startedAt,
    ...(run.finishedAt !== undefined ? { finishedAt: run.finishedAt } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
    firstController: {
      host,
      address:
        first.ssh?.address ??
        first.addresses[plan.networks.find((n) => n.purpose === 'management')?.name ?? ''] ??
        '',
    },
    endpoints,
    downloads,
  };
}

/**
 * A clouds.yaml for uStack's admin from the Secret yaook/keystone-admin's values, as lib.sh
 * `openstack_admin_cloud` writes it on the site (cloud `ustack`), with `cacert` naming the
 * root CA file the summary offers beside it.
 */
export function cloudsYaml(plan: Plan, values: Record<string, string>, caFile: string): string {
  const q = (v: string) => `'${v.replace(/'/g, "''")}'`;
  const need = (key: string) => {
    const v = values[key];
    if (!v) {
      throw new UstartError(
        'HandoverUnavailable',
        `the Secret yaook/keystone-admin has no ${key}; is Keystone deployed (ustack.keystone)?`,
      );
    }
    return v;
  };
  return [
    'clouds:',
    '  ustack:',
    '    auth:',
    `      auth_url: https://${endpointFqdn(plan, 'keystone')}/v3`,
    `      username: ${q(need('OS_USERNAME'))}`,
    `      password: ${q(need('OS_PASSWORD'))}`,
    `      project_name: ${q(need('OS_PROJECT_NAME'))}`,
    `      user_domain_name: ${q(need('OS_USER_DOMAIN_NAME'))}`,
    `      project_domain_name: ${q(need('OS_PROJECT_DOMAIN_NAME'))}`,
    `    region_name: ${q(plan.openstack.region)}`,
    `    cacert: ${q(caFile)}`,
    '',
  ].join('\n');
}

/** Reads from the first controller as root: a file, or a Secret of the management cluster. */
export class SiteReader {
  constructor(
    private readonly conn: HostConnection,
    private readonly host: string,
  ) {}

  /** The file's content; `HandoverUnavailable` when it is not there (yet). */
  async file(path: string, signal?: AbortSignal): Promise<string> {
    // base64 on one line, as the engine reads step outputs: binary-safe, one chunk to parse.
    const out = await this.run(`base64 -w0 -- ${shQuote(path)}`, signal);
    if (out.code !== 0 || !out.stdout.trim()) {
      throw new UstartError(
        'HandoverUnavailable',
        `${path} could not be read on ${this.host} (${out.code === undefined ? out.what : `exit ${out.code}`}); the step that writes it may not have run yet.`,
      );
    }
    return Buffer.from(out.stdout.trim(), 'base64').toString('utf8');
  }

  /**
   * A Secret's data, decoded (the API serialises `data` values as base64:
   * docs/upstream-facts.md#kubernetes.secret-data-base64); through the kubeadm admin
   * kubeconfig, as the runbook does.
   */
  async secret(
    namespace: string,
    name: string,
    signal?: AbortSignal,
  ): Promise<Record<string, string>> {
    const out = await this.run(
      `kubectl get secret ${shQuote(name)} --namespace=${shQuote(namespace)} --kubeconfig=${ADMIN_KUBECONFIG} --output=json`,
      signal,
    );
    let data: unknown;
    try {
      data = out.code === 0 ? (JSON.parse(out.stdout) as { data?: unknown }).data : undefined;
    } catch {
      data = undefined;
    }
    if (!data || typeof data !== 'object') {
      throw new UstartError(
        'HandoverUnavailable',
        `the Secret ${namespace}/${name} could not be read on ${this.host} (${out.code === undefined ? out.what : `exit ${out.code}`}); the step that makes it may not have run yet.`,
      );
    }
    return Object.fromEntries(
      Object.entries(data as Record<string, unknown>).map(([k, v]) => [
        k,
        Buffer.from(String(v), 'base64').toString('utf8'),
      ]),
    );
  }

  private async run(
    command: string,
    signal?: AbortSignal,
  ): Promise<{ code?: number; what: string; stdout: string }> {
    const chunks: Uint8Array[] = [];
    // stderr is dropped: it never holds what was asked for, and must not reach a message.
    const outcome = await this.conn.exec(command, {
      sudo: true,
      ...(signal ? { signal } : {}),
      onStdout: (c) => chunks.push(c),
    });
    const stdout = Buffer.concat(chunks).toString('utf8');
    return outcome.kind === 'exited'
      ? { code: outcome.code, what: 'exited', stdout }
      : { what: outcome.kind, stdout };
  }
}

/** The workload cluster's API address the first controller holds; never throws. */
export async function readGardenApi(
  reader: SiteReader,
): Promise<NonNullable<SummaryInput['gardenApi']>> {
  try {
    const address = (await reader.file(GARDEN_API_ADDRESS)).trim();
    return /^\d{1,3}(\.\d{1,3}){3}$/.test(address)
      ? { address }
      : { address: null, problem: `${GARDEN_API_ADDRESS} does not hold an IPv4 address` };
  } catch (e) {
    return { address: null, problem: messageOf(e) };
  }
}

/** How the handover reaches the site: the same access as runs (settings, demo route). */
export interface HandoverAccess {
  loadPlan(planFile: string): Promise<Plan>;
  run(planFile: string, runId: string): Promise<RunInfo>;
  /** A transport and the first controller's connection target for this plan. */
  connect(
    planFile: string,
    plan: Plan,
    host: string,
  ): Promise<{ conn: HostConnection; transport: Transport }>;
  resolvePath(file: string): string;
}

export class HandoverService {
  constructor(private readonly access: HandoverAccess) {}

  private async withSite<T>(planFile: string, plan: Plan, fn: (r: SiteReader) => Promise<T>) {
    const host = firstController(plan).hostname;
    const { conn, transport } = await this.access.connect(planFile, plan, host);
    try {
      return await fn(new SiteReader(conn, host));
    } finally {
      await transport.dispose();
    }
  }

  async summary(planFile: string, runId: string): Promise<InstallSummary> {
    const abs = this.access.resolvePath(planFile);
    const plan = await this.access.loadPlan(abs);
    const run = await this.access.run(abs, runId);
    const gardenApi = run.steps.some((s) => s.phase === 'ugarden')
      ? await this.withSite(abs, plan, (r) => readGardenApi(r)).catch((e: unknown) => ({
          address: null,
          problem: messageOf(e),
        }))
      : undefined;
    return assembleSummary({ planFile: abs, plan, run, ...(gardenApi ? { gardenApi } : {}) });
  }

  /** One handed-over file's name and content, read from the site now. */
  async fetch(
    planFile: string,
    item: HandoverItem,
  ): Promise<{ fileName: string; text: string; secret: boolean }> {
    const abs = this.access.resolvePath(planFile);
    const plan = await this.access.loadPlan(abs);
    const site = plan.site.name;
    return this.withSite(abs, plan, async (r) => {
      switch (item) {
        case 'admin-kubeconfig':
          return {
            fileName: `${site}-admin.kubeconfig`,
            text: await r.file(ADMIN_KUBECONFIG),
            secret: true,
          };
        case 'garden-kubeconfig':
          return {
            fileName: `${gardenClusterName(plan)}.kubeconfig`,
            text: await r.file(GARDEN_KUBECONFIG),
            secret: true,
          };
        case 'clouds-yaml': {
          const values = await r.secret('yaook', 'keystone-admin');
          return {
            fileName: 'clouds.yaml',
            text: cloudsYaml(plan, values, `${site}-root-ca.crt`),
            secret: true,
          };
        }
        case 'root-ca': {
          const pem = (await r.secret(ROOT_CA.namespace, ROOT_CA.secret))[ROOT_CA.key] ?? '';
          if (!pem.includes('BEGIN CERTIFICATE')) {
            throw new UstartError(
              'HandoverUnavailable',
              `the Secret ${ROOT_CA.namespace}/${ROOT_CA.secret} holds no CA certificate; run ustack.infra first.`,
            );
          }
          return { fileName: `${site}-root-ca.crt`, text: pem, secret: false };
        }
        default:
          throw new UstartError(
            'InvalidArgument',
            `no handover item ${String(item satisfies never)}`,
          );
      }
    });
  }

  /** Fetches an item and writes it to `file` (0600 when it holds a secret). */
  async save(
    planFile: string,
    item: HandoverItem,
    file: string,
  ): Promise<{ fileName: string; file: string }> {
    const got = await this.fetch(planFile, item);
    const abs = this.access.resolvePath(file);
    await writeAtomically(abs, got.text, got.secret ? 0o600 : 0o644);
    return { fileName: got.fileName, file: abs };
  }

  /** The shown keys of one Secret of the summary, read from the site now. */
  async reveal(planFile: string, which: HandoverSecret) {
    const abs = this.access.resolvePath(planFile);
    const plan = await this.access.loadPlan(abs);
    const { namespace, name, keys } = REVEALABLE[which];
    const data = await this.withSite(abs, plan, (r) => r.secret(namespace, name));
    const values = Object.fromEntries(keys.filter((k) => k in data).map((k) => [k, data[k]!]));
    return { namespace, name, values };
  }
}
