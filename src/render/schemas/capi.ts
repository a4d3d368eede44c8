/**
 * The Cluster API and CAPO objects of uGarden's workload cluster, as strict zod schemas: the
 * fields uStart renders (and the optional ones next to them), their required fields and
 * enums, read from the Go types at the pinned versions (docs/upstream-facts.md#schema.capi):
 *
 *   kubernetes-sigs/cluster-api v1.9.5: api/v1beta1/{cluster,machine,machineset,
 *     machinedeployment}_types.go, controlplane/kubeadm/api/v1beta1/kubeadm_control_plane_types.go,
 *     bootstrap/kubeadm/api/v1beta1/{kubeadmconfig,kubeadmconfigtemplate,kubeadm}_types.go,
 *     exp/addons/api/v1beta1/clusterresourceset_types.go
 *   kubernetes-sigs/cluster-api-provider-openstack v0.12.2: api/v1beta1/{openstackcluster,
 *     openstackmachine,identity,types}.go
 *
 * The API server prunes unknown fields of these CRDs silently, so a misspelt field (say
 * `kubeletExtraArg`) would just vanish and the cluster never become Ready: strict schemas make
 * the render test fail instead. Fields uStart never sets are left out; adding one means
 * reading its type first.
 */
import { z } from 'zod';
import { ObjectMeta } from './k8s-api.js';

const stringMap = z.record(z.string(), z.string());

/** core/v1 ObjectReference as uStart writes it (same namespace, so no namespace). */
const ObjectReference = z.strictObject({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  name: z.string().min(1),
  namespace: z.string().optional(),
});

/** meta/v1 LabelSelector, matchLabels only (what uStart renders). */
const LabelSelector = z.strictObject({ matchLabels: stringMap.optional() });

const NetworkRanges = z.strictObject({ cidrBlocks: z.array(z.string()) });

/** cluster_types.go ClusterSpec. */
export const Cluster = z.strictObject({
  apiVersion: z.literal('cluster.x-k8s.io/v1beta1'),
  kind: z.literal('Cluster'),
  metadata: ObjectMeta,
  spec: z.strictObject({
    paused: z.boolean().optional(),
    clusterNetwork: z
      .strictObject({
        apiServerPort: z.int().optional(),
        services: NetworkRanges.optional(),
        pods: NetworkRanges.optional(),
        serviceDomain: z.string().optional(),
      })
      .optional(),
    controlPlaneRef: ObjectReference.optional(),
    infrastructureRef: ObjectReference.optional(),
  }),
});

/** kubeadm_types.go NodeRegistrationOptions. */
const NodeRegistration = z.strictObject({
  name: z.string().optional(),
  criSocket: z.string().optional(),
  kubeletExtraArgs: stringMap.optional(),
  ignorePreflightErrors: z.array(z.string()).optional(),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
});

/** kubeadm_types.go ControlPlaneComponent (extraArgs is a string map in v1beta1). */
const ControlPlaneComponent = z.strictObject({ extraArgs: stringMap.optional() });

/** kubeadmconfig_types.go KubeadmConfigSpec, the parts uStart renders. */
const KubeadmConfigSpec = z.strictObject({
  clusterConfiguration: z
    .strictObject({
      imageRepository: z.string().optional(),
      apiServer: ControlPlaneComponent.extend({
        certSANs: z.array(z.string()).optional(),
      }).optional(),
      controllerManager: ControlPlaneComponent.optional(),
      scheduler: ControlPlaneComponent.optional(),
      clusterName: z.string().optional(),
    })
    .optional(),
  initConfiguration: z.strictObject({ nodeRegistration: NodeRegistration.optional() }).optional(),
  joinConfiguration: z.strictObject({ nodeRegistration: NodeRegistration.optional() }).optional(),
  preKubeadmCommands: z.array(z.string()).optional(),
  postKubeadmCommands: z.array(z.string()).optional(),
  // kubeadmconfig_types.go File: path required; content or contentFrom.
  files: z
    .array(
      z.strictObject({
        path: z.string().min(1),
        owner: z.string().optional(),
        permissions: z.string().optional(),
        encoding: z.enum(['base64', 'gzip', 'gzip+base64']).optional(),
        append: z.boolean().optional(),
        content: z.string().optional(),
      }),
    )
    .optional(),
});

/** kubeadm_control_plane_types.go KubeadmControlPlaneSpec: version, machineTemplate, kubeadmConfigSpec required. */
export const KubeadmControlPlane = z.strictObject({
  apiVersion: z.literal('controlplane.cluster.x-k8s.io/v1beta1'),
  kind: z.literal('KubeadmControlPlane'),
  metadata: ObjectMeta,
  spec: z.strictObject({
    replicas: z.int().min(0).optional(),
    version: z.string().regex(/^v\d+\.\d+\.\d+$/),
    machineTemplate: z.strictObject({ infrastructureRef: ObjectReference }),
    kubeadmConfigSpec: KubeadmConfigSpec,
  }),
});

/** kubeadmconfigtemplate_types.go: spec.template (required).spec. */
export const KubeadmConfigTemplate = z.strictObject({
  apiVersion: z.literal('bootstrap.cluster.x-k8s.io/v1beta1'),
  kind: z.literal('KubeadmConfigTemplate'),
  metadata: ObjectMeta,
  spec: z.strictObject({ template: z.strictObject({ spec: KubeadmConfigSpec.optional() }) }),
});

/** machinedeployment_types.go / machine_types.go: clusterName, selector, template, bootstrap, infrastructureRef required. */
export const MachineDeployment = z.strictObject({
  apiVersion: z.literal('cluster.x-k8s.io/v1beta1'),
  kind: z.literal('MachineDeployment'),
  metadata: ObjectMeta,
  spec: z.strictObject({
    clusterName: z.string().min(1),
    replicas: z.int().min(0).optional(),
    selector: LabelSelector,
    template: z.strictObject({
      spec: z.strictObject({
        clusterName: z.string().min(1),
        version: z
          .string()
          .regex(/^v\d+\.\d+\.\d+$/)
          .optional(),
        failureDomain: z.string().optional(),
        bootstrap: z.strictObject({
          configRef: ObjectReference.optional(),
          dataSecretName: z.string().optional(),
        }),
        infrastructureRef: ObjectReference,
      }),
    }),
  }),
});

/** clusterresourceset_types.go: clusterSelector required; resources Secret|ConfigMap; strategy enum. */
export const ClusterResourceSet = z.strictObject({
  apiVersion: z.literal('addons.cluster.x-k8s.io/v1beta1'),
  kind: z.literal('ClusterResourceSet'),
  metadata: ObjectMeta,
  spec: z.strictObject({
    clusterSelector: LabelSelector,
    resources: z
      .array(z.strictObject({ name: z.string().min(1), kind: z.enum(['Secret', 'ConfigMap']) }))
      .optional(),
    strategy: z.enum(['ApplyOnce', 'Reconcile']).optional(),
  }),
});

/** CAPO types.go NetworkParam: exactly one of id or filter (Min/MaxProperties 1). */
const NetworkParam = z.union([
  z.strictObject({ id: z.uuid() }),
  z.strictObject({
    filter: z
      .strictObject({
        name: z.string().optional(),
        description: z.string().optional(),
        projectID: z.string().optional(),
      })
      .refine((f) => Object.keys(f).length > 0, 'a filter needs at least one property'),
  }),
]);

/** CAPO types.go SecurityGroupRuleSpec: name and direction required; the remotes exclusive. */
const SecurityGroupRule = z
  .strictObject({
    name: z.string(),
    description: z.string().optional(),
    direction: z.enum(['ingress', 'egress']),
    etherType: z.enum(['IPv4', 'IPv6']).optional(),
    portRangeMin: z.int().optional(),
    portRangeMax: z.int().optional(),
    protocol: z.string().optional(),
    remoteGroupID: z.string().optional(),
    remoteIPPrefix: z.string().optional(),
    remoteManagedGroups: z.array(z.enum(['bastion', 'controlplane', 'worker'])).optional(),
  })
  .refine(
    (r) =>
      [r.remoteGroupID, r.remoteIPPrefix, r.remoteManagedGroups].filter((v) => v !== undefined)
        .length <= 1,
    'remoteGroupID, remoteIPPrefix and remoteManagedGroups are mutually exclusive',
  );

/** CAPO openstackcluster_types.go OpenStackClusterSpec: identityRef required. */
export const OpenStackCluster = z.strictObject({
  apiVersion: z.literal('infrastructure.cluster.x-k8s.io/v1beta1'),
  kind: z.literal('OpenStackCluster'),
  metadata: ObjectMeta,
  spec: z.strictObject({
    identityRef: z.strictObject({
      name: z.string().min(1),
      cloudName: z.string().min(1),
      region: z.string().optional(),
    }),
    externalNetwork: NetworkParam.optional(),
    disableExternalNetwork: z.boolean().optional(),
    network: NetworkParam.optional(),
    // types.go SubnetParam: id or filter; at most two (an IPv4 and an IPv6 one).
    subnets: z.array(NetworkParam).max(2).optional(),
    controlPlaneEndpoint: z.strictObject({ host: z.string().min(1), port: z.int() }).optional(),
    managedSubnets: z
      .array(
        z.strictObject({
          cidr: z.string(),
          dnsNameservers: z.array(z.string()).optional(),
          allocationPools: z
            .array(z.strictObject({ start: z.string(), end: z.string() }))
            .optional(),
        }),
      )
      .max(1)
      .optional(),
    apiServerLoadBalancer: z
      .strictObject({
        // Defaults to true when the object is given (capo.cluster-spec).
        enabled: z.boolean().optional(),
        additionalPorts: z.array(z.int()).optional(),
        allowedCIDRs: z.array(z.string()).optional(),
        provider: z.string().optional(),
        availabilityZone: z.string().optional(),
        flavor: z.string().optional(),
      })
      .optional(),
    disableAPIServerFloatingIP: z.boolean().optional(),
    apiServerFloatingIP: z.string().optional(),
    apiServerFixedIP: z.string().optional(),
    apiServerPort: z.int().min(0).max(65535).optional(),
    managedSecurityGroups: z
      .strictObject({
        allNodesSecurityGroupRules: z.array(SecurityGroupRule).optional(),
        controlPlaneNodesSecurityGroupRules: z.array(SecurityGroupRule).optional(),
        workerNodesSecurityGroupRules: z.array(SecurityGroupRule).optional(),
        allowAllInClusterTraffic: z.boolean(),
      })
      .optional(),
    tags: z.array(z.string()).optional(),
  }),
});

/** CAPO types.go ImageParam: exactly one of id, filter, imageRef. */
const ImageParam = z.union([
  z.strictObject({ id: z.uuid() }),
  z.strictObject({
    filter: z.strictObject({
      name: z.string().optional(),
      tags: z.array(z.string()).optional(),
    }),
  }),
  z.strictObject({ imageRef: z.strictObject({ name: z.string().min(1) }) }),
]);

/** CAPO openstackmachine_types.go OpenStackMachineSpec: image required; flavor or flavorID. */
export const OpenStackMachineTemplate = z.strictObject({
  apiVersion: z.literal('infrastructure.cluster.x-k8s.io/v1beta1'),
  kind: z.literal('OpenStackMachineTemplate'),
  metadata: ObjectMeta,
  spec: z.strictObject({
    template: z.strictObject({
      spec: z
        .strictObject({
          flavor: z.string().min(1).optional(),
          flavorID: z.string().min(1).optional(),
          image: ImageParam,
          sshKeyName: z.string().optional(),
          tags: z.array(z.string()).optional(),
          // types.go PortOpts, the parts uStart renders: no network means the cluster's.
          ports: z
            .array(
              z.strictObject({
                network: NetworkParam.optional(),
                description: z.string().optional(),
                nameSuffix: z.string().optional(),
                allowedAddressPairs: z
                  .array(
                    z.strictObject({ ipAddress: z.string(), macAddress: z.string().optional() }),
                  )
                  .optional(),
              }),
            )
            .optional(),
        })
        .refine(
          (s) => s.flavor !== undefined || s.flavorID !== undefined,
          'at least one of flavor or flavorID must be set',
        ),
    }),
  }),
});

/** Any document of the workload cluster's file, by kind. */
export const WorkloadClusterDocument = z.discriminatedUnion('kind', [
  Cluster,
  OpenStackCluster,
  KubeadmControlPlane,
  OpenStackMachineTemplate,
  KubeadmConfigTemplate,
  MachineDeployment,
  ClusterResourceSet,
]);
