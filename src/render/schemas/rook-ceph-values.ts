/**
 * The rook-ceph operator chart's values uStart sets, as a strict zod schema. The chart ships
 * no values.schema.json, so Helm takes any key and a misspelt one is ignored. Every key here
 * exists in rook/rook deploy/charts/rook-ceph/values.yaml at tag v1.15.6:
 *
 *   image.repository          (default docker.io/rook/ceph; image.tag v1.15.6)
 *   csi.enableRbdDriver       (default true)
 *   csi.enableCephfsDriver    (default true)
 *   csi.pluginTolerations     ("Array of tolerations ... added to CephCSI plugin DaemonSet")
 *   csi.provisionerTolerations ("... added to CSI provisioner deployment")
 *   monitoring.enabled        (default false; "Requires Prometheus to be pre-installed")
 *   tolerations               (the operator Deployment's tolerations)
 *
 * See docs/upstream-facts.md#schema.rook-ceph-values.
 */
import { z } from 'zod';
import { Toleration } from './k8s-api.js';

export const RookCephValues = z.strictObject({
  image: z.strictObject({
    repository: z.string().min(1),
    tag: z.string().min(1).optional(),
  }),
  csi: z.strictObject({
    enableRbdDriver: z.boolean(),
    enableCephfsDriver: z.boolean(),
    pluginTolerations: z.array(Toleration).optional(),
    provisionerTolerations: z.array(Toleration).optional(),
  }),
  monitoring: z.strictObject({ enabled: z.boolean() }),
  tolerations: z.array(Toleration).optional(),
});
