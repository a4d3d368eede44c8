/** Exit codes of every `ustart` command. */
export const EXIT = {
  /** Done; the input is valid (warnings allowed). */
  ok: 0,
  /** The input has errors (validation findings, a failed run). */
  invalid: 1,
  /** The input could not be read or parsed, or the command was used wrongly. */
  unreadable: 2,
} as const;
