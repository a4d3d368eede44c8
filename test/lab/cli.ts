/**
 * The lab for people: `npm run lab -- up N [--jump] [--dir DIR]` builds N hosts and prints
 * where the plan, key and known_hosts are; `npm run lab -- down [--dir DIR]` removes it
 * (with no state in DIR it sweeps every lab on the machine).
 */
import { resolve } from 'node:path';
import { createLab, downLab, hasLabState } from './lab.js';
import { labUnavailableReason } from './require-lab.js';

const USAGE = 'usage: npm run lab -- up N [--jump] [--dir DIR] | down [--dir DIR]';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const dirAt = rest.indexOf('--dir');
  const dir = resolve(dirAt >= 0 ? (rest[dirAt + 1] ?? '.lab') : '.lab');
  const reason = labUnavailableReason();
  if (reason) {
    console.error(`lab: ${reason}`);
    return 1;
  }
  if (command === 'down') {
    await downLab(dir);
    console.log(`lab: removed (${dir})`);
    return 0;
  }
  if (command === 'up') {
    const count = Number(rest[0]);
    if (!Number.isInteger(count) || count < 1) {
      console.error(USAGE);
      return 2;
    }
    if (hasLabState(dir)) {
      console.error(`lab: a lab already runs from ${dir}; run \`npm run lab -- down\` first`);
      return 1;
    }
    const lab = await createLab({
      hosts: count,
      jump: rest.includes('--jump'),
      dir,
      persistent: true,
    });
    for (const h of [...(lab.jump ? [lab.jump] : []), ...lab.hosts]) {
      console.log(`${h.name.padEnd(12)} ${h.address}:${h.port}  netns ${h.netns}`);
    }
    console.log(`plan:        ${lab.planPath}`);
    console.log(`client key:  ${lab.clientKeyPath}`);
    console.log(`known_hosts: ${lab.knownHostsPath}`);
    console.log(`test user:   ${lab.testUser.name} (password in ${dir}/test-user-password)`);
    console.log(
      `try:         ssh -i ${lab.clientKeyPath} -o UserKnownHostsFile=${lab.knownHostsPath}` +
        (lab.jump ? ` -J root@${lab.jump.address}` : '') +
        ` root@${lab.hosts[0]!.address} hostname`,
    );
    return 0;
  }
  console.error(USAGE);
  return 2;
}

process.exitCode = await main(process.argv.slice(2));
