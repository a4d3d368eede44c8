/** Every validation rule, one module per family, in the order docs list them. */
import type { Rule } from '../rule.js';
import { acknowledgementRules } from './acknowledgements.js';
import { accessRules } from './access.js';
import { addressRules } from './addresses.js';
import { airGapRules } from './air-gap.js';
import { hostNetworkRules } from './host-network.js';
import { kubernetesRules } from './kubernetes.js';
import { networkRules } from './networks.js';
import { openstackRules } from './openstack.js';
import { externalNetworkRules, providerUplinkRules } from './provider-network.js';
import { rackRules } from './racks.js';
import { roleRules } from './roles.js';
import { serverRules } from './servers.js';
import { siteRules } from './site.js';
import { storageRules } from './storage.js';

export const RULES: readonly Rule[] = [
  ...siteRules,
  ...networkRules,
  ...addressRules,
  ...rackRules,
  ...serverRules,
  ...hostNetworkRules,
  ...providerUplinkRules,
  ...roleRules,
  ...storageRules,
  ...kubernetesRules,
  ...openstackRules,
  ...externalNetworkRules,
  ...accessRules,
  ...airGapRules,
  ...acknowledgementRules,
];
