#!/usr/bin/env node
// Finds (or fetches) Electron's binary for the desktop app, then runs electron-vite with it.
//
//   node scripts/electron-binary.mjs preview -- --demo   (npm start)
//   node scripts/electron-binary.mjs preview              (npm run app)
//   node scripts/electron-binary.mjs dev                  (npm run dev)
//   node scripts/electron-binary.mjs --where [--no-download]   prints the binary's path
//
// `npm ci` does not run Electron's install script (package.json's allowScripts denies it), so
// the CLI, browser mode, the demo and the tests install anywhere the npm registry is
// reachable. Only the desktop app needs the binary; this script looks for it in order:
//   1. ELECTRON_EXEC_PATH (electron-vite's own variable), when set;
//   2. node_modules/electron/dist, or ELECTRON_OVERRIDE_DIST_PATH (the electron package's
//      own override: a folder holding the unpacked release zip);
//   3. Electron's own installer (node_modules/electron/install.js), which downloads the
//      release zip for the locked version (ELECTRON_MIRROR and its cache apply);
//   4. an `electron` on PATH (not node_modules/.bin), with a warning when its version differs.
// When all fail it says what to do, and that everything but the desktop app works without it.
// Upstream behaviour relied on: docs/upstream-facts.md#npm.allow-scripts, #electron.install-js,
// #electron-get.mirror-proxy, #electron-vite.exec-path.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve, sep } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const require = createRequire(join(ROOT, 'package.json'));

function say(line) {
  process.stderr.write(`electron: ${line}\n`);
}

/** The executable's path inside an unpacked Electron release, as electron's install.js names it. */
function platformPath() {
  switch (process.platform) {
    case 'darwin':
      return 'Electron.app/Contents/MacOS/Electron';
    case 'win32':
      return 'electron.exe';
    default:
      return 'electron';
  }
}

function electronPackage() {
  try {
    const manifest = require.resolve('electron/package.json');
    const { version } = JSON.parse(readFileSync(manifest, 'utf8'));
    return { dir: dirname(manifest), version: String(version) };
  } catch {
    return undefined;
  }
}

/** The binary from the electron package (dist/ or ELECTRON_OVERRIDE_DIST_PATH), or undefined. */
function packagedBinary(pkg) {
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  const pathFile = join(pkg.dir, 'path.txt');
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : platformPath();
  const candidate = join(override || join(pkg.dir, 'dist'), relative);
  if (!existsSync(candidate)) return undefined;
  // A zip unpacked by hand into dist/ has no path.txt; write it so `require('electron')`
  // (Playwright, the e2e test) finds the same binary.
  if (!override && !existsSync(pathFile)) writeFileSync(pathFile, relative);
  return candidate;
}

function runInstaller(pkg) {
  say(
    `the binary of Electron ${pkg.version} is not installed; downloading it with Electron's own ` +
      `installer (node_modules/electron/install.js, about 110 MB, once)…`,
  );
  const env = { ...process.env };
  // The installer exits quietly when this is set; here the download is what was asked for.
  delete env.ELECTRON_SKIP_BINARY_DOWNLOAD;
  const result = spawnSync(process.execPath, [join(pkg.dir, 'install.js')], {
    cwd: pkg.dir,
    env,
    stdio: 'inherit',
  });
  return result.status === 0;
}

/** An `electron` on PATH that is not a node_modules/.bin shim (that one needs the download). */
function systemElectron() {
  const names = process.platform === 'win32' ? ['electron.exe', 'electron.cmd'] : ['electron'];
  for (const folder of (process.env.PATH ?? '').split(delimiter)) {
    if (!folder || folder.split(sep).includes('node_modules')) continue;
    for (const name of names) {
      const candidate = join(folder, name);
      if (existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}

function versionOf(binary) {
  const out = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 30_000 });
  return out.status === 0 ? out.stdout.trim().replace(/^v/, '') : undefined;
}

function explainFailure(pkg, downloaded) {
  const version = pkg?.version ?? '(see package-lock.json)';
  const zip = `electron-v${version}-${process.platform}-${process.arch}.zip`;
  say(
    downloaded
      ? 'no Electron binary found, and downloading it failed (see above).'
      : 'no Electron binary found (no download tried: --no-download).',
  );
  process.stderr.write(
    [
      '',
      'The desktop app needs it; nothing else does: `npx ustart demo`, `npx ustart serve`',
      '(the same app in a browser) and `npm test` work without it.',
      '',
      'To get it:',
      '  - through a mirror:  ELECTRON_MIRROR=https://your-mirror/electron/ npm start',
      '  - through a proxy:   ELECTRON_GET_USE_PROXY=1 GLOBAL_AGENT_HTTPS_PROXY=http://proxy:3128 npm start',
      `  - offline: fetch ${zip} from`,
      `    https://github.com/electron/electron/releases/tag/v${version} elsewhere, unzip it into`,
      '    node_modules/electron/dist (or any folder, then set ELECTRON_OVERRIDE_DIST_PATH=that folder)',
      '    and run `npm start` again;',
      '  - or point ELECTRON_EXEC_PATH at an Electron binary you already have.',
      '',
    ].join('\n'),
  );
}

/** Returns the binary's path, or undefined after explaining what to do. */
export function locateElectron({ download = true } = {}) {
  const preset = process.env.ELECTRON_EXEC_PATH;
  if (preset) {
    if (existsSync(preset)) return preset;
    say(`ELECTRON_EXEC_PATH is set to ${preset}, which does not exist; unset it or fix the path.`);
    return undefined;
  }
  const pkg = electronPackage();
  if (pkg) {
    const found = packagedBinary(pkg);
    if (found) return found;
    if (download && runInstaller(pkg)) {
      const fetched = packagedBinary(pkg);
      if (fetched) return fetched;
    }
  }
  const system = systemElectron();
  if (system) {
    const version = versionOf(system);
    if (pkg && version !== pkg.version) {
      say(
        `using ${system} (Electron ${version ?? 'of unknown version'}); this project is built ` +
          `and tested with Electron ${pkg.version}.`,
      );
    }
    return system;
  }
  explainFailure(pkg, download && pkg !== undefined);
  return undefined;
}

function main(argv) {
  const where = argv.includes('--where');
  const download = !argv.includes('--no-download');
  const binary = locateElectron({ download });
  if (!binary) return 1;
  if (where) {
    process.stdout.write(`${binary}\n`);
    return 0;
  }
  const args = argv.filter((a) => a !== '--no-download');
  const viteCli = join(
    dirname(require.resolve('electron-vite/package.json')),
    'bin/electron-vite.js',
  );
  const child = spawn(process.execPath, [viteCli, ...args], {
    cwd: ROOT,
    // electron-vite starts this binary instead of reading node_modules/electron/path.txt.
    env: { ...process.env, ELECTRON_EXEC_PATH: binary },
    stdio: 'inherit',
  });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? (signal ? 1 : 0);
  });
  return undefined;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const code = main(process.argv.slice(2));
  if (code !== undefined) process.exitCode = code;
}
