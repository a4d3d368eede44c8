/**
 * The wizard's steps, in order: the one list the rail, the page, the store, the session keeper
 * and the finding jumps read. Adding a step is one entry here and its component.
 */
import type { ComponentType } from 'react';
import type { Plan, RuleFamily } from '../../../src/api';
import type { TextKey } from '../i18n';
import { HardwareStep } from './HardwareStep';
import { NetworksStep } from './NetworksStep';
import { ReviewStep } from './ReviewStep';
import { RolesStep } from './RolesStep';
import { SiteStep } from './SiteStep';

export interface WizardStep {
  /** Stable id: `data-testid="step-<id>"` on the rail, kept in the tab's session. */
  id: string;
  /** The step's name on the rail. */
  label: TextKey;
  component: ComponentType<{ plan: Plan }>;
  /**
   * JSON pointers whose findings jump to this step, as pointer prefixes; a `*` segment stands
   * for any one segment (a list index), as in the roles step's entry. The longest prefix that
   * matches wins, so a step may claim part of what another step's prefix holds.
   */
  paths: readonly string[];
  /** Findings whose pointer no step claims, and plan-wide ones of no step's family, land here. */
  fallback?: true;
  /**
   * Rule families whose findings belong here: the step lists them live, and a finding about
   * the whole plan (path ``) of one of these families jumps here.
   */
  families?: readonly RuleFamily[];
  /** The rail counts this step's open errors (the review lists every finding instead). */
  badge: boolean;
}

const STEPS = [
  {
    id: 'site',
    label: 'stepSite',
    component: SiteStep,
    paths: [],
    fallback: true,
    badge: true,
  },
  {
    id: 'hardware',
    label: 'stepHardware',
    component: HardwareStep,
    paths: ['/servers', '/racks'],
    badge: true,
  },
  {
    id: 'networks',
    label: 'stepNetworks',
    component: NetworksStep,
    paths: ['/networks'],
    badge: true,
  },
  {
    id: 'roles',
    label: 'stepRoles',
    component: RolesStep,
    paths: ['/servers/*/roles'],
    families: ['roles', 'storage'],
    badge: true,
  },
  {
    id: 'review',
    label: 'stepReview',
    component: ReviewStep,
    paths: [],
    badge: false,
  },
] as const satisfies readonly WizardStep[];

export type StepId = (typeof STEPS)[number]['id'];

export const WIZARD_STEPS: ReadonlyArray<WizardStep & { id: StepId }> = STEPS;

export function isStepId(value: unknown): value is StepId {
  return WIZARD_STEPS.some((s) => s.id === value);
}
