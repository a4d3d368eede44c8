/**
 * The runbook's phases as the core serves them (`run:phases`): the Install page lists its
 * phase choices and names phases from these, never from a list of its own.
 */
import { useEffect, useState } from 'react';
import type { RunPhase } from '../../../src/api';
import { useApp } from '../context';
import { useUiStore } from '../state/ui-store';

/** The runbook's phases in run order; empty until the core answered. */
export function usePhases(): RunPhase[] {
  const { api } = useApp();
  const [phases, setPhases] = useState<RunPhase[]>([]);
  useEffect(() => {
    let gone = false;
    void api.runPhases({}).then((r) => {
      if (!gone && r.ok) setPhases(r.value.phases);
    });
    return () => {
      gone = true;
    };
  }, [api]);
  return phases;
}

/** A phase's name in the UI's language; a reset or unknown phase shows its id. */
export function usePhaseLabel(phases: readonly RunPhase[]): (phase: string) => string {
  const lang = useUiStore((s) => s.lang);
  return (id) => {
    const phase = phases.find((p) => p.id === id);
    return phase && phase.resetOf === undefined ? phase.label[lang] : id;
  };
}

/** Whether a phase changes the hosts (it is not read-only, as connect is). */
export function changesHosts(phases: readonly RunPhase[], id: string): boolean {
  return phases.find((p) => p.id === id)?.readOnly !== true;
}
