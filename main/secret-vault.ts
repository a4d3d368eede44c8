/**
 * Secrets the consultant asks uStart to remember, kept with Electron's safeStorage (the OS
 * keychain: Keychain, DPAPI, libsecret/kwallet) as encrypted blobs in userData. Where the
 * platform has no real secret store — encryption unavailable, or Linux falling back to
 * `basic_text`, a hard-coded key — nothing is stored and the consultant is told why.
 */
import { safeStorage } from 'electron';
import { z } from 'zod';
import { readStateFile, writeStateFile, type SecretVault } from '../src/app/index.js';

const Blobs = z.record(z.string(), z.string());

/** Why safeStorage cannot keep a secret here, or undefined when it can. */
function refusal(): string | undefined {
  if (!safeStorage.isEncryptionAvailable()) {
    return 'this computer offers no keychain to uStart (safeStorage is unavailable), so secrets are kept for this session only';
  }
  if (process.platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text') {
    return 'no secret service (GNOME Keyring or KWallet) is running, and the fallback would store secrets with a fixed key; secrets are kept for this session only';
  }
  return undefined;
}

export function safeStorageVault(file: string): SecretVault {
  const reason = refusal();
  const read = () => readStateFile(file, Blobs, {});
  return {
    canRemember: reason === undefined,
    ...(reason ? { reason } : {}),
    async get(key) {
      if (reason) return undefined;
      const blob = (await read())[key];
      return blob === undefined
        ? undefined
        : safeStorage.decryptString(Buffer.from(blob, 'base64'));
    },
    async set(key, value) {
      if (reason) throw new Error(reason);
      const all = await read();
      all[key] = safeStorage.encryptString(value).toString('base64');
      await writeStateFile(file, all);
    },
    async clear() {
      await writeStateFile(file, {});
    },
  };
}
