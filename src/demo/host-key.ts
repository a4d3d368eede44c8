/**
 * Stable host keys for the demo lab: an ed25519 key derived from the host name and the
 * demo seed, so a restarted lab presents the same keys and its known_hosts stays valid.
 * Written in the OpenSSH private key format, which ssh2's server reads.
 */
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';

/** The seed of the keys shipped demo labs use; another seed gives another set of keys. */
export const DEFAULT_DEMO_SEED = 'ustart-demo-v1';

/** DER head of a PKCS#8 ed25519 private key; the 32-byte seed follows. */
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export interface DemoHostKey {
  /** OpenSSH private key (PEM-armoured), for `new ssh2.Server({ hostKeys })`. */
  privateKey: string;
  /** The SSH wire blob of the public key (`ssh-ed25519` + 32 bytes). */
  publicBlob: Buffer;
  /** `ssh-ed25519 AAAA…`, as in a known_hosts line. */
  publicLine: string;
}

export function demoHostKey(hostname: string, seed = DEFAULT_DEMO_SEED): DemoHostKey {
  const secret = createHash('sha256').update(`ustart demo host key\0${seed}\0${hostname}`).digest();
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, secret]),
    format: 'der',
    type: 'pkcs8',
  });
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  const pub = Buffer.from(jwk.x!, 'base64url');
  const publicBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  // The check integers only detect a wrong passphrase; derived, so the file is stable too.
  const check = secret.subarray(0, 4);
  const comment = `demo@${hostname}`;
  let priv = Buffer.concat([
    check,
    check,
    sshString('ssh-ed25519'),
    sshString(pub),
    sshString(Buffer.concat([secret, pub])),
    sshString(comment),
  ]);
  const pad = (8 - (priv.length % 8)) % 8;
  priv = Buffer.concat([priv, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([
    Buffer.from('openssh-key-v1\0', 'latin1'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    uint32(1),
    sshString(publicBlob),
    sshString(priv),
  ]);
  const b64 = body.toString('base64').replace(/.{1,70}/g, '$&\n');
  return {
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}-----END OPENSSH PRIVATE KEY-----\n`,
    publicBlob,
    publicLine: `ssh-ed25519 ${publicBlob.toString('base64')}`,
  };
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function sshString(v: string | Buffer): Buffer {
  const data = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  return Buffer.concat([uint32(data.length), data]);
}
