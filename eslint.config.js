// @ts-check
// Layering (STYLE.md, "Boundaries"): the core in src/ runs in plain Node and never sees
// Electron, React or the DOM; the renderer never sees Node, ssh2 or node-pty; main/ is a
// thin shell over src/. A wrong import fails the lint, not a review.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import { readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

/**
 * The layers of the core (docs/architecture.md, "Layers"), lowest first. A folder of src/
 * imports only folders on lower levels; the folders of one level are peers and do not import
 * each other. src/errors.ts is below them all. Tests (*.test.ts) are exempt: they test a layer
 * together with what feeds it (a runbook script rendered by src/render, say).
 */
export const LAYERS = [
  ['util', 'i18n'], // small helpers; the text catalogue (Node-free)
  ['plan', 'ssh'], // the site plan (schema, load/save, rules, IPAM, capacity); SSH transport
  ['api', 'runbook'], // the contract between core and fronts (Node-free); the runbook format
  ['engine', 'bmc'], // step graphs on hosts, journal, locks; servers' BMCs (Redfish, IPMI)
  ['render'], // configuration and the runbook's steps from a plan
  ['bundle', 'logbundle', 'osinstall'], // offline bundle; log bundle; OS install through BMCs
  ['demo'], // the demo lab: a transport to simulated hosts, running the rendered steps
  ['app'], // the service implementing the contract
  ['server'], // browser mode
  ['cli'], // the command line (`ustart serve` starts the server)
];

// A folder of src/ without a place in the order fails the lint, so it gets one.
const srcFolders = readdirSync(new URL('./src', import.meta.url), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
const placed = LAYERS.flat();
for (const folder of srcFolders) {
  if (!placed.includes(folder)) {
    throw new Error(
      `eslint.config.js: src/${folder} has no place in LAYERS; add it to the level it belongs to (docs/architecture.md, "Layers").`,
    );
  }
}

/** One config per folder: it may not import the folders on its own level or above. */
const layerRules = LAYERS.flatMap((level, at) =>
  level.map((folder) => {
    const above = LAYERS.slice(at)
      .flat()
      .filter((f) => f !== folder);
    const peers = level.filter((f) => f !== folder);
    return {
      files: [`src/${folder}/**/*.ts`],
      ignores: ['src/**/*.test.ts'],
      rules: {
        // The typescript-eslint twin of no-restricted-imports, so that the layer order adds
        // to each folder's own restrictions instead of replacing them; it counts type imports.
        '@typescript-eslint/no-restricted-imports': [
          'error',
          {
            patterns: above.map((f) => ({
              group: [`**/${f}`, `**/${f}/**`],
              message: `src/${folder} may not import src/${f}: ${
                peers.includes(f) ? 'they are peers on one level' : `src/${f} is a higher layer`
              } (docs/architecture.md, "Layers"; the order is LAYERS in eslint.config.js).`,
            })),
          },
        ],
      },
    };
  }),
);

export default tseslint.config(
  {
    ignores: ['node_modules/', 'out/', 'dist/', 'release/', 'coverage/', 'test-results/', '.lab/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-throw-literal': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'electron',
              message: 'src/ is the core: it runs in plain Node without Electron.',
            },
            { name: 'react', message: 'src/ is the core: UI code belongs in renderer/.' },
            { name: 'react-dom', message: 'src/ is the core: UI code belongs in renderer/.' },
            { name: 'zustand', message: 'src/ is the core: UI state belongs in renderer/.' },
          ],
          patterns: [
            { group: ['**/renderer/**', '**/main/**'], message: 'src/ never imports a front.' },
            { group: ['@xterm/*'], message: 'src/ is the core: terminals render in renderer/.' },
          ],
        },
      ],
    },
  },
  {
    // The api contract is shared with the renderer, so it stays free of Node too.
    files: ['src/api/**/*.ts'],
    ignores: ['src/api/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({
              name,
              message: 'src/api is shared with the renderer: no Node built-ins.',
            })),
            { name: 'electron', message: 'src/api is plain TypeScript.' },
            { name: 'ssh2', message: 'src/api is shared with the renderer.' },
          ],
          patterns: [
            {
              // The plan schema and finding types are plain zod/TypeScript; the contract
              // re-exports them so the renderer edits the one Plan type the core checks, and
              // the one list of fields a BMC discovery writes (Node-free, schema types only).
              group: [
                '../*',
                '!../plan',
                '../plan/*',
                '!../plan/schema.js',
                '!../plan/finding.js',
                '!../plan/discovered.js',
                '!../i18n',
              ],
              message:
                'src/api imports only zod, itself, the plan schema (and its discovered fields) and the text catalogue.',
            },
          ],
        },
      ],
    },
  },
  ...layerRules,
  {
    // The text catalogue is shared with the renderer (through src/api): plain TypeScript.
    files: ['src/i18n/**/*.ts'],
    ignores: ['src/i18n/**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'src/i18n is shared with the renderer: no Node built-ins.',
          })),
          patterns: [
            { group: ['../*'], message: 'src/i18n is the bottom layer: it imports only itself.' },
          ],
        },
      ],
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.map((name) => ({
              name,
              message: 'The renderer never touches Node: ask the api.',
            })),
            {
              name: 'electron',
              message: 'The renderer talks to the preload bridge, not Electron.',
            },
            { name: 'ssh2', message: 'The renderer never holds SSH: ask the api.' },
            { name: 'node-pty', message: 'The renderer never spawns processes: ask the api.' },
          ],
          patterns: [
            {
              group: ['**/src/*', '!**/src/api', '!**/src/api/*'],
              message: 'The renderer may import only the api contract from src/.',
            },
            { group: ['**/main/*'], message: 'The renderer never imports the main process.' },
          ],
        },
      ],
    },
  },
  {
    // main/ is a thin shell: it binds the api to IPC and windows, it holds no domain logic.
    files: ['main/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/renderer/*'], message: 'main/ never imports the renderer.' },
            {
              group: ['**/src/*', '!**/src/api', '!**/src/api/*', '!**/src/app', '!**/src/app/*'],
              message:
                'main/ reaches the core only through the contract (src/api) and its service (src/app).',
            },
          ],
        },
      ],
    },
  },
);
