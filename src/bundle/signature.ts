/**
 * Ed25519 keys and the bundle signature, with node:crypto alone. `bundle.sig` is the
 * base64 of the 64-byte Ed25519 signature over the exact bytes of `bundle.json`, followed
 * by a newline. Ed25519 is deterministic, so the same key and manifest give the same file.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { writeFile, chmod } from 'node:fs/promises';
import { UstartError } from '../errors.js';
import { writeAtomically } from '../util/fs.js';
import { readRegularFile } from '../util/user-file.js';

/** Writes `PREFIX.key` (PKCS#8 PEM, mode 0600) and `PREFIX.pub` (SPKI PEM). Refuses to overwrite. */
export async function generateKeyPair(
  prefix: string,
): Promise<{ privateKeyFile: string; publicKeyFile: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privateKeyFile = `${prefix}.key`;
  const publicKeyFile = `${prefix}.pub`;
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' });
  try {
    // 'wx' with mode 0600: the key is never readable by others, not even for an instant.
    await writeFile(privateKeyFile, pem, { flag: 'wx', mode: 0o600 });
    await chmod(privateKeyFile, 0o600);
  } catch (e) {
    const exists = (e as NodeJS.ErrnoException).code === 'EEXIST';
    throw new UstartError(
      'WriteFailed',
      exists
        ? `${privateKeyFile} already exists; nothing was written. Choose another --out prefix or remove the old key.`
        : `could not write ${privateKeyFile}: ${(e as Error).message}`,
      { cause: e, detail: { file: privateKeyFile } },
    );
  }
  await writeAtomically(publicKeyFile, publicKey.export({ format: 'pem', type: 'spki' }));
  return { privateKeyFile, publicKeyFile };
}

export async function loadPrivateKey(file: string): Promise<KeyObject> {
  const key = parseKey(file, 'private', await readKeyFile(file, 'private'));
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new UstartError(
      'InvalidArgument',
      `${file} is a ${key.asymmetricKeyType ?? 'unknown'} key; bundles are signed with Ed25519 keys from "ustart bundle keygen".`,
    );
  }
  return key;
}

export async function loadPublicKey(file: string): Promise<KeyObject> {
  const key = parseKey(file, 'public', await readKeyFile(file, 'public'));
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new UstartError(
      'InvalidArgument',
      `${file} is a ${key.asymmetricKeyType ?? 'unknown'} key; use the PREFIX.pub written by "ustart bundle keygen".`,
    );
  }
  return key;
}

/** OpenSSL's own error ("DECODER routines::unsupported") tells a consultant nothing. */
function parseKey(file: string, which: 'private' | 'public', bytes: Buffer): KeyObject {
  try {
    return which === 'private' ? createPrivateKey(bytes) : createPublicKey(bytes);
  } catch (e) {
    throw new UstartError(
      'InvalidArgument',
      `${file} is not a PEM ${which} key; use the PREFIX.${which === 'private' ? 'key' : 'pub'} written by "ustart bundle keygen".`,
      { cause: e, detail: { file } },
    );
  }
}

async function readKeyFile(file: string, which: 'private' | 'public'): Promise<Buffer> {
  try {
    return await readRegularFile(file, { what: `${which} key` });
  } catch (e) {
    if (e instanceof UstartError) throw e;
    throw new UstartError(
      'InvalidArgument',
      `cannot read the ${which} key ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); create a pair with "ustart bundle keygen --out PREFIX".`,
      { cause: e, detail: { file } },
    );
  }
}

/** The content of `bundle.sig` for these manifest bytes. */
export function signManifest(manifestBytes: Uint8Array, key: KeyObject): Buffer {
  return Buffer.from(sign(null, manifestBytes, key).toString('base64') + '\n', 'ascii');
}

/** True when `sigFile` (the bytes of `bundle.sig`) is a valid signature of the manifest by `key`. */
export function verifyManifestSignature(
  manifestBytes: Uint8Array,
  sigFile: Uint8Array,
  key: KeyObject,
): boolean {
  const text = Buffer.from(sigFile).toString('ascii').trim();
  if (!/^[A-Za-z0-9+/]{86}==$/.test(text)) return false;
  return verify(null, manifestBytes, key, Buffer.from(text, 'base64'));
}
