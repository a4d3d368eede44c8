/**
 * containerd's config.toml (config version 2, containerd 1.6 and 1.7) as uStart renders it:
 * a reader for the small part of TOML the file uses, and a strict zod schema of the keys.
 * The keys and their places come from containerd/containerd docs/cri/config.md at v1.7.12
 * (Ubuntu 24.04's containerd) and v1.6.20 (Debian 12's), the same in both:
 *
 *   version = 2
 *   [plugins."io.containerd.grpc.v1.cri"] sandbox_image
 *   [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc] runtime_type = "io.containerd.runc.v2"
 *   [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options] SystemdCgroup
 *   [plugins."io.containerd.grpc.v1.cri".registry] config_path (air-gapped sites' mirrors)
 *
 * containerd ignores a key it does not know (a misspelt SystemdCgroup leaves cgroupfs on,
 * and the kubelet, told systemd, fails its pods), so the schema is strict.
 * See docs/upstream-facts.md#schema.containerd-config.
 */
import { z } from 'zod';

type Table = { [key: string]: TomlValue };
type TomlValue = string | number | boolean | Table;

/** `a."b.c".d` → ['a', 'b.c', 'd']. */
function splitKey(text: string, line: number): string[] {
  const parts: string[] = [];
  const re = /\s*(?:"([^"\\]*)"|([A-Za-z0-9_-]+))\s*(\.|$)/y;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) throw new Error(`line ${line}: cannot read the key ${JSON.stringify(text)}`);
    parts.push(m[1] ?? m[2]!);
    at = re.lastIndex;
    if (m[3] === '' && at < text.length) {
      throw new Error(`line ${line}: cannot read the key ${JSON.stringify(text)}`);
    }
  }
  return parts;
}

function parseValue(text: string, line: number): string | number | boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (/^-?\d+$/.test(text)) return Number(text);
  const s = /^"((?:[^"\\]|\\["\\])*)"$/.exec(text);
  if (s) return s[1]!.replace(/\\(["\\])/g, '$1');
  throw new Error(`line ${line}: uStart's TOML reader does not take the value ${text}`);
}

/**
 * Reads the part of TOML a rendered containerd config uses: comments, `[table]` headers with
 * bare or quoted dotted keys, and `key = value` with a basic string, an integer or a boolean.
 * Anything else (arrays, inline tables, multi-line strings) is refused rather than misread,
 * and so is a key or a table given twice, as TOML requires.
 */
export function parseTomlSubset(text: string): Table {
  const root: Table = {};
  let current = root;
  const seenTables = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const content = raw.replace(/^\s+|\s+$/g, '');
    if (content === '' || content.startsWith('#')) return;
    const header = /^\[([^[\]]+)\]$/.exec(content);
    if (header) {
      const path = splitKey(header[1]!, line);
      const id = JSON.stringify(path);
      if (seenTables.has(id)) throw new Error(`line ${line}: table [${header[1]}] defined twice`);
      seenTables.add(id);
      current = root;
      for (const part of path) {
        const next = current[part] ?? {};
        if (typeof next !== 'object') throw new Error(`line ${line}: ${part} is not a table`);
        current[part] = next;
        current = next;
      }
      return;
    }
    const kv = /^([^=]+?)\s*=\s*(.+)$/.exec(content);
    if (!kv) throw new Error(`line ${line}: cannot read ${JSON.stringify(raw)}`);
    const path = splitKey(kv[1]!, line);
    const key = path.pop()!;
    let table = current;
    for (const part of path) {
      const next = table[part] ?? {};
      if (typeof next !== 'object') throw new Error(`line ${line}: ${part} is not a table`);
      table[part] = next;
      table = next;
    }
    if (key in table) throw new Error(`line ${line}: ${kv[1]} is set twice`);
    table[key] = parseValue(kv[2]!, line);
  });
  return root;
}

export const ContainerdConfig = z.strictObject({
  version: z.literal(2),
  plugins: z.strictObject({
    'io.containerd.grpc.v1.cri': z.strictObject({
      sandbox_image: z.string().min(1),
      // docs/upstream-facts.md#registry-containerd-config-path: the roots of <registry>/hosts.toml.
      registry: z.strictObject({ config_path: z.string().min(1) }).optional(),
      containerd: z.strictObject({
        runtimes: z.strictObject({
          runc: z.strictObject({
            runtime_type: z.literal('io.containerd.runc.v2'),
            options: z.strictObject({ SystemdCgroup: z.boolean() }),
          }),
        }),
      }),
    }),
  }),
});
