/**
 * The `ustart` command line. Each command lives in its own module and returns an exit code:
 * 0 success (warnings allowed), 1 the input has errors, 2 the input could not be read or
 * the command was used wrongly.
 */
import { Command, CommanderError } from 'commander';
import { isUstartError, messageOf } from '../errors.js';
import { registerPlanCommands } from './plan-commands.js';
import { registerRunCommands } from './run-commands.js';
import { registerBundleCommands } from './commands/bundle.js';
import { registerServe } from './commands/serve.js';
import { registerDemo } from './commands/demo.js';
import { registerBom } from './commands/bom.js';
import { registerRender } from './commands/render.js';
import { registerReport } from './commands/report.js';
import { registerOsInstall } from './commands/os-install.js';
import { registerDiscover } from './commands/discover.js';
import { createOutput, type Output } from './output.js';

import { EXIT } from './exit.js';

export { EXIT };

export async function main(argv: string[], out: Output = createOutput()): Promise<number> {
  let code: number = EXIT.ok;
  const program = new Command('ustart')
    .description('Plan, validate and install UhuruTec open cloud sites.')
    .version(process.env.npm_package_version ?? '0.1.0')
    .configureOutput({ writeOut: (s) => out.stdout(s), writeErr: (s) => out.stderr(s) })
    .exitOverride()
    .showHelpAfterError('(run "ustart --help" for the list of commands)');
  const setCode = (c: number) => {
    code = c;
  };
  registerPlanCommands(program, out, setCode);
  registerRunCommands(program, out, setCode);
  registerBundleCommands(program, out, setCode);
  registerServe(program, out, setCode);
  registerDemo(program, out, setCode);
  registerRender(program, out, setCode);
  registerBom(program, out, setCode);
  registerReport(program, out, setCode);
  registerOsInstall(program, out, setCode);
  registerDiscover(program, out, setCode);
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version'
        ? EXIT.ok
        : EXIT.unreadable;
    }
    if (isUstartError(e)) {
      out.stderr(`ustart: ${e.message}\n`);
      return EXIT.unreadable;
    }
    out.stderr(`ustart: unexpected error: ${messageOf(e)}\n`);
    if (e instanceof Error && e.stack) out.stderr(`${e.stack}\n`);
    return EXIT.unreadable;
  }
  return code;
}
