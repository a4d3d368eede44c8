// @ts-check
// Layering (STYLE.md, "Boundaries"): the core in src/ runs in plain Node and never sees
// Electron, React or the DOM; the renderer never sees Node, ssh2 or node-pty; main/ is a
// thin shell over src/. A wrong import fails the lint, not a review.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

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
              // re-exports them so the renderer edits the one Plan type the core checks.
              group: [
                '../*',
                '!../plan',
                '../plan/*',
                '!../plan/schema.js',
                '!../plan/finding.js',
                '!../i18n',
              ],
              message: 'src/api imports only zod, itself, the plan schema and the text catalogue.',
            },
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
