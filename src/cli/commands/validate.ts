import type { Command } from 'commander';
import { checkPlanFile, countBySeverity, type Finding } from '../../plan/index.js';
import { EXIT } from '../exit.js';
import { type Output, paint } from '../output.js';

export function registerValidate(
  program: Command,
  out: Output,
  setCode: (c: number) => void,
): void {
  program
    .command('validate')
    .description(
      'Check a site plan: exit 0 when valid (warnings allowed), 1 on errors, 2 when unreadable.',
    )
    .argument('<file>', 'the site plan (YAML)')
    .option('--json', 'print the findings as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const checked = await checkPlanFile(file);
      const counts = countBySeverity(checked.findings);
      if (opts.json) {
        out.stdout(
          JSON.stringify(
            {
              file,
              valid: checked.valid,
              errors: counts.error,
              warnings: counts.warning,
              findings: checked.findings.map(jsonFinding),
            },
            null,
            2,
          ) + '\n',
        );
      } else {
        out.stdout(formatFindings(out, file, checked.findings));
      }
      setCode(checked.valid ? EXIT.ok : EXIT.invalid);
    });
}

function jsonFinding(f: Finding) {
  return {
    severity: f.severity,
    rule: f.rule,
    ...(f.family === undefined ? {} : { family: f.family }),
    path: f.path,
    message: f.message,
    hint: f.hint,
    ...(f.line === undefined ? {} : { line: f.line, column: f.column }),
    ...(f.acknowledged ? { acknowledged: f.acknowledged } : {}),
  };
}

export function formatFindings(out: Output, file: string, findings: readonly Finding[]): string {
  const counts = countBySeverity(findings);
  const lines: string[] = [];
  for (const f of findings) {
    const sev = f.acknowledged
      ? paint(out, 'dim', 'accepted')
      : f.severity === 'error'
        ? paint(out, 'red', 'error  ')
        : f.severity === 'warning'
          ? paint(out, 'yellow', 'warning')
          : paint(out, 'cyan', 'info   ');
    const where = f.line === undefined ? file : `${file}:${f.line}:${f.column}`;
    lines.push(
      `${sev} ${paint(out, 'bold', f.rule)} ${paint(out, 'dim', f.path || '/')}  ${where}`,
    );
    lines.push(`        ${f.message}`);
    lines.push(
      `        ${paint(out, 'dim', `→ ${f.acknowledged ? `accepted: ${f.acknowledged.reason}` : f.hint}`)}`,
    );
  }
  const summary = `${file}: ${counts.error} error${counts.error === 1 ? '' : 's'}, ${counts.warning} warning${counts.warning === 1 ? '' : 's'}, ${counts.info} info`;
  lines.push(counts.error ? paint(out, 'red', summary) : paint(out, 'green', `${summary} — valid`));
  return lines.join('\n') + '\n';
}
