/**
 * The built-in local actions a runbook step may name with `local:` (docs/runbook-format.md,
 * "Local steps"): work done from this machine, with no connection to the step's hosts, by
 * code of uStart rather than a script. The names are fixed here, so the loader refuses a
 * name uStart does not have; a front binds each name to its implementation (src/osinstall
 * for `os-install`) when it starts a run.
 */
export const LOCAL_ACTIONS = {
  'os-install':
    "installs Debian 12 through the server's BMC (Redfish virtual media); a server that answers on SSH is skipped (docs/bare-metal.md)",
} as const satisfies Record<string, string>;

export type LocalActionName = keyof typeof LOCAL_ACTIONS;

export const LOCAL_ACTION_NAMES: readonly LocalActionName[] = Object.keys(
  LOCAL_ACTIONS,
) as LocalActionName[];

export function isLocalAction(name: string): name is LocalActionName {
  return Object.hasOwn(LOCAL_ACTIONS, name);
}
