/**
 * A runbook YAML file parsed with its schema: the first syntax error, or each schema issue,
 * becomes a problem naming the file, line and field, so a runbook author fixes them in one go.
 */
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { pointer } from '../plan/finding.js';
import { locate } from '../plan/load.js';

/** Where something was declared, 1-based. */
export interface SourceRef {
  file: string;
  line?: number;
  column?: number;
}

export interface RunbookProblem extends SourceRef {
  message: string;
}

/** The parsed file and a way to locate any of its fields; undefined after a problem. */
export function parseYamlFile<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  problems: RunbookProblem[],
): { value: z.output<S>; at: (path: ReadonlyArray<string | number>) => SourceRef } | undefined {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const at = (path: ReadonlyArray<string | number>): SourceRef => ({
    file,
    ...locate(document as Document, lineCounter, pointer(...path)),
  });
  const first = document.errors[0];
  if (first) {
    const pos = lineCounter.linePos(first.pos[0]);
    problems.push({
      file,
      line: pos.line,
      column: pos.col,
      message: first.message.split('\n')[0] ?? 'YAML syntax error',
    });
    return undefined;
  }
  const parsed = schema.safeParse(document.toJS() ?? {});
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.map((p) => (typeof p === 'number' ? p : String(p)));
      const name =
        issue.code === 'unrecognized_keys'
          ? `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`
          : issue.message;
      problems.push({ ...at(path), message: `${pointer(...path) || 'the file'}: ${name}` });
    }
    return undefined;
  }
  return { value: parsed.data, at };
}
