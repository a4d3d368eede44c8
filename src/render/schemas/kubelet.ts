/**
 * The KubeletConfiguration uStart hands to kubeadm, as a strict zod schema. Derived from
 * kubernetes/kubelet config/v1beta1/types.go at tag v0.31.4 (the published copy of
 * kubernetes/kubernetes staging/src/k8s.io/kubelet/config/v1beta1/types.go at v1.31.4).
 * The kubelet decodes its config file leniently, so a misspelt field would be dropped:
 * see docs/upstream-facts.md#schema.kubelet-config.
 */
import { z } from 'zod';

export const KubeletConfiguration = z.strictObject({
  apiVersion: z.literal('kubelet.config.k8s.io/v1beta1'),
  kind: z.literal('KubeletConfiguration'),
  // cgroupDriver: "the driver kubelet uses to manipulate CGroups on the host (cgroupfs or
  // systemd)". Must match containerd's SystemdCgroup (schemas/containerd.ts).
  cgroupDriver: z.enum(['systemd', 'cgroupfs']),
});
