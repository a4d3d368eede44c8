/**
 * Where a pod may run: the kube-scheduler's hard filters that the runbook's workloads depend
 * on, so the doubles refuse a workload that real nodes would leave Pending for ever.
 *
 * - Taints and tolerations (docs/upstream-facts.md#k8s.tolerations): a NoSchedule or NoExecute
 *   taint keeps a pod off a node unless the pod tolerates it; PreferNoSchedule never does.
 * - nodeSelector and required node affinity (docs/upstream-facts.md#k8s.node-affinity): every
 *   nodeSelector label must match; of requiredDuringScheduling…nodeSelectorTerms one term must
 *   match, each term's expressions all (In, NotIn, Exists, DoesNotExist, Gt, Lt).
 *
 * Nodes are `{ name, labels: {k: v}, taints: ['key=value:Effect' | 'key:Effect'] }`, as the
 * kubeadm and kubectl doubles keep them in `nodes-meta.json`.
 */

/** `key=value:Effect` or `key:Effect` as `{ key, value, effect }`. */
export function parseTaint(text) {
  const m = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(text);
  if (!m) throw new Error(`not a taint: ${text}`);
  return { key: m[1], value: m[2] ?? '', effect: m[3] };
}

/** core/v1 Toleration.ToleratesTaint. */
export function tolerates(toleration, taint) {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  const operator = toleration.operator ?? 'Equal';
  if (operator === 'Exists') return !toleration.key || toleration.key === taint.key;
  return toleration.key === taint.key && (toleration.value ?? '') === (taint.value ?? '');
}

function matchesExpression(labels, e) {
  const has = Object.hasOwn(labels, e.key);
  const v = labels[e.key];
  switch (e.operator) {
    case 'In':
      return has && (e.values ?? []).includes(v);
    case 'NotIn':
      return !has || !(e.values ?? []).includes(v);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      const n = Number(v);
      const bound = Number(e.values?.[0]);
      return has && Number.isInteger(n) && (e.operator === 'Gt' ? n > bound : n < bound);
    }
    default:
      throw new Error(`unknown node selector operator ${e.operator}`);
  }
}

/** Why `pod` (a pod spec's placement fields) cannot run on `node`, or undefined when it can. */
export function unfit(pod, node) {
  const blocking = (node.taints ?? [])
    .map(parseTaint)
    .filter((t) => t.effect !== 'PreferNoSchedule');
  const untolerated = blocking.filter((t) => !(pod.tolerations ?? []).some((x) => tolerates(x, t)));
  if (untolerated.length)
    return `untolerated taint ${untolerated.map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`).join(', ')}`;
  const labels = node.labels ?? {};
  for (const [k, v] of Object.entries(pod.nodeSelector ?? {}))
    if (labels[k] !== v) return `nodeSelector ${k}=${v} does not match`;
  const terms =
    pod.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (
    terms &&
    !terms.some((t) => (t.matchExpressions ?? []).every((e) => matchesExpression(labels, e)))
  )
    return 'required node affinity does not match';
  return undefined;
}

/** The nodes a pod fits, and for the others why not (`node: reason`). */
export function placement(pod, nodes) {
  const fits = [];
  const why = [];
  for (const n of nodes) {
    const reason = unfit(pod, n);
    if (reason) why.push(`${n.name}: ${reason}`);
    else fits.push(n.name);
  }
  return { fits, why };
}

/**
 * Checks workloads against the nodes; returns the first problem as a sentence, or undefined.
 * A workload is `{ what, pod, replicas?, distinct?, everyNode?, onNodes? }`:
 * - `replicas` pods must fit (on `replicas` distinct nodes when `distinct`);
 * - `everyNode`: a node agent (DaemonSet) that must run on every node, with the reason why;
 * - `onNodes`: pods bound to those nodes (a Rook OSD runs where its disk is).
 */
export function unschedulable(workloads, nodes) {
  for (const w of workloads) {
    const { fits, why } = placement(w.pod, nodes);
    const detail = why.length ? ` (${why.join('; ')})` : '';
    if (w.everyNode) {
      if (fits.length < nodes.length)
        return `${w.what} would not run on every node, but ${w.everyNode}${detail}`;
    } else if (w.onNodes) {
      const missing = w.onNodes.filter((n) => !fits.includes(n));
      if (missing.length)
        return `${w.what} cannot run on ${missing.join(', ')}, where it must${detail}`;
    } else {
      const need = w.replicas ?? 1;
      const have = w.distinct ? fits.length : fits.length > 0 ? need : 0;
      if (have < need)
        return `${w.what} would stay Pending: ${need} ${w.distinct ? 'distinct nodes' : 'pod(s)'} needed, ${fits.length} node(s) fit${detail}`;
    }
  }
  return undefined;
}
