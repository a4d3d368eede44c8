/**
 * electron-builder.yml against the installed electron-builder's own schema (the check
 * `electron-builder` runs before it packages), and the fuses it flips before signing
 * (Electron's security checklist, item 19). What the flipped binary does cannot be
 * checked here: no Electron binary can be downloaded on CI.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const require = createRequire(import.meta.url);
const CONFIG = fileURLToPath(new URL('../../../electron-builder.yml', import.meta.url));

interface BuilderConfig {
  asar?: boolean;
  electronFuses?: Record<string, boolean>;
}

async function config(): Promise<BuilderConfig> {
  return parse(await readFile(CONFIG, 'utf8')) as BuilderConfig;
}

describe('electron-builder.yml', () => {
  it('is valid for the installed electron-builder', async () => {
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as {
      validateConfiguration(config: unknown, logger: unknown): Promise<void>;
    };
    const { DebugLogger } = require('builder-util') as {
      DebugLogger: new (enabled: boolean) => unknown;
    };
    await expect(validateConfiguration(await config(), new DebugLogger(false))).resolves.toBe(
      undefined,
    );
    // The same check refuses a fuse name it does not know, so the one above is not vacuous.
    await expect(
      validateConfiguration(
        { ...(await config()), electronFuses: { runAsNodeTypo: false } },
        new DebugLogger(false),
      ),
    ).rejects.toThrow(/electronFuses/);
  });

  it('flips the fuses a packaged uStart does not need, and loads only from the asar', async () => {
    const c = await config();
    expect(c.asar).toBe(true);
    expect(c.electronFuses).toEqual({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      onlyLoadAppFromAsar: true,
      enableEmbeddedAsarIntegrityValidation: true,
      grantFileProtocolExtraPrivileges: false,
    });
  });
});
