/**
 * The end of an install (issue 17): the summary of a run's endpoints, where each credential
 * lives, and the files handed over (kubeconfigs, clouds.yaml, the site CA). Merged into
 * `requests` of ./contract.ts like ./run-contract.ts.
 *
 * The summary never carries a secret: it names where each one is (a Kubernetes Secret, a file
 * on the first controller). A secret's value crosses the contract only when the user asks for
 * it (`handover:reveal`, `handover:download`), read from the site at that moment.
 */
import { z } from 'zod';
import { RunStateName } from './run-contract.js';

const planFile = z.string().trim().min(1, { error: 'the plan must be saved to a file first' });
const runId = z.string().regex(/^[A-Za-z0-9._-]+$/, { error: 'not a run id' });

/** A file handed over; read from the first controller (or composed from a Secret there). */
export const HandoverItem = z.enum([
  /** The uMetal cluster's kubeadm admin kubeconfig, /etc/kubernetes/admin.conf. */
  'admin-kubeconfig',
  /** The workload cluster's kubeconfig that ugarden.kubeconfig leaves on the first controller. */
  'garden-kubeconfig',
  /** A clouds.yaml for uStack's admin (cloud `ustack`), from the Secret yaook/keystone-admin. */
  'clouds-yaml',
  /** The site's root CA certificate (public), from the Secret yaook/root-ca. */
  'root-ca',
]);
export type HandoverItem = z.infer<typeof HandoverItem>;

/** A Kubernetes Secret whose values the user may reveal on the summary. */
export const HandoverSecret = z.enum(['grafana-admin', 'keystone-admin', 'gitea-admin']);
export type HandoverSecret = z.infer<typeof HandoverSecret>;

/** Where one credential lives; never the credential itself. */
export const CredentialLocation = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('secret'),
    /** The cluster holding it: `management` is uMetal's (where uStack and uGarden run). */
    cluster: z.literal('management'),
    namespace: z.string(),
    name: z.string(),
    keys: z.array(z.string()),
    /** Set when the summary can show its values on request (`handover:reveal`). */
    reveal: HandoverSecret.optional(),
  }),
  z.object({
    kind: z.literal('file'),
    host: z.string(),
    path: z.string(),
    /** Its permission bits, octal (`0600`). */
    mode: z.string(),
    /** Set when the summary offers it as a download (`handover:download`). */
    download: HandoverItem.optional(),
  }),
]);
export type CredentialLocation = z.infer<typeof CredentialLocation>;

export const EndpointId = z.enum([
  'kubernetes-api',
  'grafana',
  'logs',
  'prometheus',
  'alertmanager',
  'keystone',
  'horizon',
  'git',
  'flux',
  'garden-api',
]);
export type EndpointId = z.infer<typeof EndpointId>;

export const SummaryEndpoint = z.object({
  id: EndpointId,
  /** The install phase that brings it up. */
  phase: z.enum(['umetal', 'ustack', 'ugarden']),
  /** Where it answers; null when it is not known (the garden API before its address exists). */
  url: z.string().nullable(),
  /** True when this run installed its phase completely. */
  installed: z.boolean(),
  /** Reached only from inside the management cluster: how to reach it from a laptop. */
  inCluster: z.object({ command: z.string() }).optional(),
  /** Why `url` is null or may be wrong (what failed reading it on the site). */
  problem: z.string().optional(),
  credentials: z.array(CredentialLocation),
});
export type SummaryEndpoint = z.infer<typeof SummaryEndpoint>;

export const SummaryDownload = z.object({
  item: HandoverItem,
  /** The file name a download suggests. */
  fileName: z.string(),
  /** Where the content comes from on the site. */
  source: CredentialLocation,
  /** True when this run installed what it comes from. */
  available: z.boolean(),
  /** True when the file holds a secret (kept at mode 0600 where the core writes it). */
  secret: z.boolean(),
});
export type SummaryDownload = z.infer<typeof SummaryDownload>;

/** What a finished install hands over. */
export const InstallSummary = z.object({
  planFile: z.string(),
  runId: z.string(),
  site: z.string(),
  demo: z.boolean(),
  state: RunStateName,
  /** The install phases the run had, in runbook order. */
  phases: z.array(z.string()),
  startedAt: z.number(),
  finishedAt: z.number().optional(),
  /** finishedAt − startedAt; absent while the run has not ended. */
  durationMs: z.number().optional(),
  firstController: z.object({ host: z.string(), address: z.string() }),
  endpoints: z.array(SummaryEndpoint),
  downloads: z.array(SummaryDownload),
});
export type InstallSummary = z.infer<typeof InstallSummary>;

const request = <I extends z.ZodType, O extends z.ZodType>(input: I, output: O) => ({
  input,
  output,
});

export const handoverRequests = {
  /**
   * The summary of an install run: endpoints, where each credential lives, the downloads and
   * the run's duration. Reads the workload cluster's API address from the first controller
   * when the run installed uGarden (not a secret); never reads a secret.
   */
  'handover:summary': request(z.object({ planFile, runId }), InstallSummary),
  /**
   * One handed-over file, read from the site now. Without `file` the content comes back (a
   * browser saves it through its own download); with `file` the core writes it there (mode
   * 0600 when it holds a secret) and answers the path only.
   */
  'handover:download': request(
    z.object({ planFile, item: HandoverItem, file: z.string().trim().min(1).optional() }),
    z.object({ fileName: z.string(), text: z.string().optional(), file: z.string().optional() }),
  ),
  /** The values of one Secret of the summary, read from the site when the user asks. */
  'handover:reveal': request(
    z.object({ planFile, secret: HandoverSecret }),
    z.object({ namespace: z.string(), name: z.string(), values: z.record(z.string(), z.string()) }),
  ),
} as const;
