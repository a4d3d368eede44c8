/**
 * Deterministic YAML for rendered files: objects are built in a fixed key order by the
 * generators, and stringified with fixed options (no line folding, no anchors), so the same
 * plan always gives the same bytes.
 */
import { stringify } from 'yaml';

const OPTIONS = { lineWidth: 0, aliasDuplicateObjects: false, indentSeq: true } as const;

export function toYaml(value: unknown): string {
  return stringify(value, OPTIONS);
}

/** Several documents in one file, separated by `---`. */
export function toYamlDocuments(values: readonly unknown[]): string {
  return values.map((v) => `---\n${toYaml(v)}`).join('');
}

/** Pretty JSON with a final newline. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}
