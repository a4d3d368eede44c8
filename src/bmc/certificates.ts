/**
 * BMC TLS certificates, pinned like SSH host keys (docs/bare-metal.md, "TLS pinning").
 *
 * BMCs ship self-signed certificates, so a CA check says nothing; instead the certificate's
 * SHA-256 fingerprint is recorded per BMC address the first time the consultant accepts it,
 * in `bmc_certificates` next to uStart's own known_hosts (the state folder), one line each:
 *
 *     10.9.0.31 sha256 AB:CD:…            (port 443)
 *     [10.9.0.31]:8443 sha256 AB:CD:…     (another port)
 *
 * Unknown: `BmcCertificateUnknown` carrying `detail.fingerprint` (accept it with `add`, or
 * `acceptNew`). Changed: `BmcCertificateMismatch`, always, naming the BMC, the pinned and
 * the offered fingerprints, the file and line.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UstartError } from '../errors.js';
import { readRegularFile } from '../util/user-file.js';

/** The pin file in uStart's state folder (where known_hosts is). */
export function bmcCertificatesFile(stateDir: string): string {
  return join(stateDir, 'bmc_certificates');
}

/** How a BMC is named in the pin file: `address`, or `[address]:port` off port 443. */
export function bmcPattern(address: string, port: number): string {
  return port === 443 ? address : `[${address}]:${port}`;
}

export type CertificateVerdict =
  { kind: 'known' } | { kind: 'unknown' } | { kind: 'mismatch'; known: string; where: string };

const FINGERPRINT = /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/;

export class BmcCertificates {
  private readonly accepted = new Set<string>();

  /**
   * @param file the pin file, read at every check and appended to when a certificate is accepted.
   * @param acceptNew record an unknown certificate instead of refusing it (trust on first use,
   *   as OpenSSH's `accept-new`); a changed one is refused all the same.
   */
  constructor(
    readonly file: string,
    private readonly acceptNew = false,
  ) {}

  async check(address: string, port: number, fingerprint: string): Promise<CertificateVerdict> {
    const name = bmcPattern(address, port);
    const fp = fingerprint.toUpperCase();
    if (this.accepted.has(`${name} ${fp}`)) return { kind: 'known' };
    const lines = await this.read();
    const mine = lines.filter((l) => l.name === name);
    if (mine.some((l) => l.fingerprint === fp)) return { kind: 'known' };
    const last = mine.at(-1);
    if (last)
      return { kind: 'mismatch', known: last.fingerprint, where: `${this.file}:${last.line}` };
    return { kind: 'unknown' };
  }

  /**
   * Throws unless the certificate is pinned (or `acceptNew` pins it now). Called on every TLS
   * connection before a byte of the request is sent.
   */
  async verify(address: string, port: number, fingerprint: string): Promise<void> {
    const verdict = await this.check(address, port, fingerprint);
    if (verdict.kind === 'known') return;
    const name = bmcPattern(address, port);
    if (verdict.kind === 'mismatch') {
      throw new UstartError(
        'BmcCertificateMismatch',
        `the TLS certificate of the BMC ${name} has changed: pinned sha256 ${verdict.known} (${verdict.where}), offered sha256 ${fingerprint}. Nothing was sent to it. If the BMC's certificate was replaced on purpose (a new BMC, a regenerated certificate), compare the new fingerprint with the one the BMC shows in its own console, delete its line from ${this.file}, and connect again.`,
        { detail: { address, port, known: verdict.known, fingerprint, file: this.file } },
      );
    }
    if (this.acceptNew) {
      await this.add(address, port, fingerprint);
      return;
    }
    throw new UstartError(
      'BmcCertificateUnknown',
      `the BMC ${name} offers a TLS certificate uStart has not seen: sha256 ${fingerprint}. Compare it with the fingerprint the BMC shows in its own console, then accept it (CLI: --accept-new-bmc-certificates) to pin it in ${this.file}.`,
      { detail: { address, port, fingerprint, file: this.file } },
    );
  }

  /** Pins a certificate the consultant accepted. */
  async add(address: string, port: number, fingerprint: string): Promise<void> {
    const fp = fingerprint.toUpperCase();
    if (!FINGERPRINT.test(fp)) {
      throw new UstartError(
        'InvalidArgument',
        `"${fingerprint}" is not a SHA-256 fingerprint (32 hex pairs separated by colons).`,
      );
    }
    const name = bmcPattern(address, port);
    try {
      await mkdir(dirname(this.file), { recursive: true });
      await appendFile(this.file, `${name} sha256 ${fp}\n`, { mode: 0o600 });
    } catch (e) {
      throw new UstartError(
        'WriteFailed',
        `could not pin the certificate of the BMC ${name} in ${this.file}: ${(e as Error).message}`,
        { cause: e, detail: { file: this.file } },
      );
    }
    this.accepted.add(`${name} ${fp}`);
  }

  private async read(): Promise<{ name: string; fingerprint: string; line: number }[]> {
    let text: string;
    try {
      text = await readRegularFile(this.file, {
        what: 'BMC certificate pins',
        code: 'BmcFailed',
        encoding: 'utf8',
      });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: { name: string; fingerprint: string; line: number }[] = [];
    text.split('\n').forEach((raw, i) => {
      const [name, algo, fp] = raw.trim().split(/\s+/);
      if (!name || name.startsWith('#') || algo !== 'sha256' || !fp) return;
      out.push({ name, fingerprint: fp.toUpperCase(), line: i + 1 });
    });
    return out;
  }
}
