/**
 * Network verification: the probes every host sent to every other host (netcheck.sh) as a
 * matrix per network, judged against per-role thresholds. A pair is held to the stricter of
 * its two hosts' roles: a controller's links carry etcd and the API, which tolerate little.
 */
import { type Finding, pointer } from '../plan/finding.js';
import type { Plan, Role } from '../plan/schema.js';
import type { NetcheckResult } from './fact-schemas.js';

export interface Threshold {
  maxAvgMs: number;
  maxLossPercent: number;
}

/** What each role's links must reach (control plane: at most 100 ms, no loss). */
export const ROLE_THRESHOLDS: Record<Role, Threshold> = {
  controller: { maxAvgMs: 100, maxLossPercent: 0 },
  storage: { maxAvgMs: 100, maxLossPercent: 0 },
  compute: { maxAvgMs: 200, maxLossPercent: 1 },
};

export interface MatrixCell {
  from: string;
  to: string;
  network: string;
  /** Undefined when the pair was not measured. */
  lossPercent?: number;
  avgMs?: number | null;
  mtuOk?: boolean;
  threshold: Threshold;
  ok: boolean;
}

export interface NetworkMatrix {
  /** Host names in plan order. */
  hosts: string[];
  /** Per network: cells for every planned ordered pair of hosts on it. */
  networks: Record<string, MatrixCell[]>;
  findings: Finding[];
}

function thresholdFor(roles: readonly Role[]): Threshold {
  const all = roles.length ? roles.map((r) => ROLE_THRESHOLDS[r]) : [ROLE_THRESHOLDS.compute];
  return {
    maxAvgMs: Math.min(...all.map((t) => t.maxAvgMs)),
    maxLossPercent: Math.min(...all.map((t) => t.maxLossPercent)),
  };
}

export function networkMatrix(plan: Plan, results: readonly NetcheckResult[]): NetworkMatrix {
  const members = plan.servers.filter((s) => s.roles.length > 0);
  const index = new Map(plan.servers.map((s, i) => [s.hostname, i]));
  const byFrom = new Map(results.map((r) => [r.from, r]));
  const networks: Record<string, MatrixCell[]> = {};
  const findings: Finding[] = [];
  for (const network of plan.networks) {
    if (network.purpose === 'bmc') continue;
    const on = members.filter((s) => s.addresses[network.name]);
    if (on.length < 2) continue;
    const cells: MatrixCell[] = [];
    for (const from of on) {
      for (const to of on) {
        if (from === to) continue;
        const threshold = thresholdFor([...from.roles, ...to.roles]);
        const probe = byFrom
          .get(from.hostname)
          ?.probes.find((p) => p.to === to.hostname && p.network === network.name);
        const path = pointer('servers', index.get(to.hostname)!, 'addresses', network.name);
        const where = `${from.hostname} → ${to.hostname} on ${network.name} (${to.addresses[network.name]})`;
        if (!probe) {
          cells.push({
            from: from.hostname,
            to: to.hostname,
            network: network.name,
            threshold,
            ok: false,
          });
          findings.push({
            rule: 'net-not-measured',
            severity: 'warning',
            path,
            message: `${where}: not measured`,
            hint: `Run the network check again; ${from.hostname} may not have reported.`,
          });
          continue;
        }
        const problems: Array<[string, Finding['severity'], string, string]> = [];
        if (probe.lossPercent >= 100) {
          problems.push([
            'net-unreachable',
            'error',
            'unreachable (100% loss)',
            'Check the VLAN, cabling and addresses of both hosts on this network.',
          ]);
        } else {
          if (probe.lossPercent > threshold.maxLossPercent) {
            problems.push([
              'net-loss',
              'error',
              `${probe.lossPercent}% packet loss (at most ${threshold.maxLossPercent}%)`,
              'Look for a faulty cable, port or an overloaded link.',
            ]);
          }
          if (probe.avgMs !== null && probe.avgMs > threshold.maxAvgMs) {
            problems.push([
              'net-latency',
              'error',
              `${probe.avgMs} ms on average (at most ${threshold.maxAvgMs} ms)`,
              'The hosts are too far apart for their roles; check the network path.',
            ]);
          }
          if (!probe.mtuOk) {
            problems.push([
              'net-mtu',
              'error',
              `packets of the planned MTU ${probe.mtu} do not pass unfragmented`,
              `Set MTU ${probe.mtu} on every switch port and NIC of ${network.name}, or lower the planned MTU.`,
            ]);
          }
        }
        for (const [rule, severity, what, hint] of problems) {
          findings.push({ rule, severity, path, message: `${where}: ${what}`, hint });
        }
        cells.push({
          from: from.hostname,
          to: to.hostname,
          network: network.name,
          lossPercent: probe.lossPercent,
          avgMs: probe.avgMs,
          mtuOk: probe.mtuOk,
          threshold,
          ok: problems.length === 0,
        });
      }
    }
    networks[network.name] = cells;
  }
  return { hosts: members.map((s) => s.hostname), networks, findings };
}
