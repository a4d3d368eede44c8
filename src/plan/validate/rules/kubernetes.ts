/** Rules about the Kubernetes cluster: version, API VIP, pod and service networks. */
import { pointer } from '../../finding.js';
import { type Cidr, contains, formatIpv4, isPrivate, overlaps } from '../../ipv4.js';
import type { PlanIndex } from '../plan-index.js';
import type { Rule } from '../rule.js';

/** Kubernetes minor versions the runbook is tested with. */
export const KUBERNETES_MINORS = { oldest: 29, newest: 33 } as const;
/** kube-controller-manager's default `--node-cidr-mask-size`: each node gets a /24 of pods. */
const NODE_POD_PREFIX = 24;
/** kube-apiserver refuses a service range of more than 20 host bits. */
const SERVICE_PREFIX_MAX_SIZE = 12;
/** Below this there are too few service addresses for the platform's own services. */
const SERVICE_PREFIX_MIN_SIZE = 24;

type CidrField = 'podCidr' | 'serviceCidr';
const LABEL: Record<CidrField, string> = { podCidr: 'pod network', serviceCidr: 'service network' };

function clusterCidr(index: PlanIndex, field: CidrField): Cidr | undefined {
  return index.cidr(index.plan.kubernetes[field]);
}

/** Reports a Kubernetes CIDR that overlaps a site network. */
function overlapRule(field: CidrField): Rule {
  return {
    id: field === 'podCidr' ? 'k8s-pod-cidr-overlap' : 'k8s-service-cidr-overlap',
    severity: 'error',
    family: 'kubernetes',
    description: `The ${LABEL[field]} (kubernetes.${field}) overlaps no site network.`,
    fix: `Choose a private range for kubernetes.${field} that no site network uses.`,
    check(index, report) {
      const c = clusterCidr(index, field);
      if (!c) return;
      for (const n of index.networks) {
        if (n.cidr && overlaps(c, n.cidr)) {
          report(
            pointer('kubernetes', field),
            `the ${LABEL[field]} ${index.plan.kubernetes[field]} overlaps network "${n.network.name}" (${n.network.cidr}); hosts could no longer reach that network`,
            `Choose another private range for kubernetes.${field}, such as ${field === 'podCidr' ? '10.244.0.0/16' : '10.96.0.0/12'}, that no site network uses.`,
          );
        }
      }
    },
  };
}

export const kubernetesRules: Rule[] = [
  {
    id: 'k8s-version-supported',
    severity: 'warning',
    family: 'kubernetes',
    description: `The Kubernetes version is one the runbook is tested with (1.${KUBERNETES_MINORS.oldest}–1.${KUBERNETES_MINORS.newest}).`,
    fix: `Use a 1.${KUBERNETES_MINORS.oldest}–1.${KUBERNETES_MINORS.newest} release.`,
    check({ plan }, report) {
      const minor = Number(/^v?1\.(\d+)\./.exec(plan.kubernetes.version)?.[1]);
      if (minor >= KUBERNETES_MINORS.oldest && minor <= KUBERNETES_MINORS.newest) return;
      report(
        pointer('kubernetes', 'version'),
        `Kubernetes ${plan.kubernetes.version} is ${minor < KUBERNETES_MINORS.oldest ? 'older' : 'newer'} than the releases this uStart is tested with (1.${KUBERNETES_MINORS.oldest}–1.${KUBERNETES_MINORS.newest})`,
        `Use a 1.${KUBERNETES_MINORS.oldest}–1.${KUBERNETES_MINORS.newest} release, such as 1.31.4; the offline bundle carries only those.`,
      );
    },
  },
  {
    id: 'k8s-vip-management',
    severity: 'error',
    family: 'kubernetes',
    description: 'The Kubernetes API VIP lies inside the management network.',
    fix: 'Choose a free address of the management network outside its pool.',
    check(index, report) {
      const vip = index.ip(index.plan.kubernetes.controlPlaneVip);
      const mgmt = index.networksByPurpose.get('management') ?? [];
      if (vip === undefined || mgmt.length === 0) return;
      if (mgmt.some((n) => n.cidr && contains(n.cidr, vip))) return;
      report(
        pointer('kubernetes', 'controlPlaneVip'),
        `the Kubernetes API VIP ${index.plan.kubernetes.controlPlaneVip} is outside the management network ${mgmt[0]!.network.cidr}`,
        `Choose a free address in ${mgmt[0]!.network.cidr} outside its pool; kube-vip announces it there.`,
      );
    },
  },
  overlapRule('podCidr'),
  overlapRule('serviceCidr'),
  {
    id: 'k8s-pod-service-overlap',
    severity: 'error',
    family: 'kubernetes',
    description: 'The pod and service networks do not overlap.',
    fix: 'Choose disjoint ranges, such as 10.244.0.0/16 and 10.96.0.0/12.',
    check(index, report) {
      const pod = clusterCidr(index, 'podCidr');
      const svc = clusterCidr(index, 'serviceCidr');
      if (pod && svc && overlaps(pod, svc)) {
        report(
          pointer('kubernetes', 'serviceCidr'),
          `the service network ${index.plan.kubernetes.serviceCidr} overlaps the pod network ${index.plan.kubernetes.podCidr}`,
          'Choose disjoint ranges, such as podCidr 10.244.0.0/16 and serviceCidr 10.96.0.0/12.',
        );
      }
    },
  },
  {
    id: 'k8s-service-cidr-too-large',
    severity: 'error',
    family: 'kubernetes',
    description: `The service network is /${SERVICE_PREFIX_MAX_SIZE} or smaller (kube-apiserver refuses larger ones).`,
    fix: `Use a prefix of /${SERVICE_PREFIX_MAX_SIZE} or longer, such as 10.96.0.0/12.`,
    check(index, report) {
      const svc = clusterCidr(index, 'serviceCidr');
      if (svc && svc.prefix < SERVICE_PREFIX_MAX_SIZE) {
        report(
          pointer('kubernetes', 'serviceCidr'),
          `the service network ${index.plan.kubernetes.serviceCidr} is larger than /${SERVICE_PREFIX_MAX_SIZE}; kube-apiserver will not start`,
          `Use /${SERVICE_PREFIX_MAX_SIZE} or a longer prefix, such as 10.96.0.0/12.`,
        );
      }
    },
  },
  {
    id: 'k8s-service-cidr-too-small',
    severity: 'warning',
    family: 'kubernetes',
    description: `The service network is /${SERVICE_PREFIX_MIN_SIZE} or larger: the OpenStack operators create hundreds of services.`,
    fix: `Use a prefix of /${SERVICE_PREFIX_MIN_SIZE} or shorter.`,
    check(index, report) {
      const svc = clusterCidr(index, 'serviceCidr');
      if (svc && svc.prefix > SERVICE_PREFIX_MIN_SIZE) {
        report(
          pointer('kubernetes', 'serviceCidr'),
          `the service network ${index.plan.kubernetes.serviceCidr} has room for only ${2 ** (32 - svc.prefix) - 2} services`,
          `Use /${SERVICE_PREFIX_MIN_SIZE} or a shorter prefix (10.96.0.0/12 is the usual choice).`,
        );
      }
    },
  },
  {
    id: 'k8s-pod-cidr-size',
    severity: 'error',
    family: 'kubernetes',
    description: `The pod network holds one /${NODE_POD_PREFIX} per server (the controller manager's node CIDR size).`,
    fix: 'Use a shorter prefix for kubernetes.podCidr.',
    check(index, report) {
      const pod = clusterCidr(index, 'podCidr');
      const nodes = index.plan.servers.filter((s) => s.roles.length > 0).length;
      if (!pod || nodes === 0) return;
      const blocks = pod.prefix > NODE_POD_PREFIX ? 0 : 2 ** (NODE_POD_PREFIX - pod.prefix);
      if (blocks < nodes) {
        const fits = NODE_POD_PREFIX - Math.ceil(Math.log2(nodes));
        report(
          pointer('kubernetes', 'podCidr'),
          `the pod network ${index.plan.kubernetes.podCidr} holds ${blocks} node ranges of /${NODE_POD_PREFIX} but the plan has ${nodes} nodes`,
          `Use /${fits} or a shorter prefix, such as ${formatIpv4(pod.network)}/${fits} if that range is free.`,
        );
      }
    },
  },
  {
    id: 'k8s-cidr-host-bits',
    severity: 'warning',
    family: 'kubernetes',
    description: 'The pod and service CIDRs are written with their network address.',
    fix: 'Write the network address, such as 10.244.0.0/16.',
    check(index, report) {
      for (const field of ['podCidr', 'serviceCidr'] as const) {
        const c = clusterCidr(index, field);
        if (c?.hostBitsSet) {
          report(
            pointer('kubernetes', field),
            `kubernetes.${field} ${index.plan.kubernetes[field]} has host bits set; it means ${formatIpv4(c.network)}/${c.prefix}`,
            `Write ${formatIpv4(c.network)}/${c.prefix}.`,
          );
        }
      }
    },
  },
  {
    id: 'k8s-cidr-public',
    severity: 'warning',
    family: 'kubernetes',
    description: 'The pod and service networks use private address space.',
    fix: 'Choose ranges inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16.',
    check(index, report) {
      for (const field of ['podCidr', 'serviceCidr'] as const) {
        const c = clusterCidr(index, field);
        if (c && !(isPrivate(c.network) && isPrivate(c.last))) {
          report(
            pointer('kubernetes', field),
            `kubernetes.${field} ${index.plan.kubernetes[field]} uses public addresses; pods could not reach the real hosts behind them`,
            'Choose a range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 that no site network uses.',
          );
        }
      }
    },
  },
];
