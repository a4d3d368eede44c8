import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BundleRedactor, REDACTED, REDACTED_KEY } from './redact.js';

const PEM = [
  '-----BEGIN OPENSSH PRIVATE KEY-----',
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
  'QyNTUxOQAAACDzWq2Yk8Xqv0AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  '-----END OPENSSH PRIVATE KEY-----',
].join('\n');

/** `text` pushed through a stream in pieces of the given sizes (the rest at the end). */
function chunked(r: BundleRedactor, text: string, cuts: readonly number[]): string {
  const s = r.stream();
  let out = '';
  let at = 0;
  for (const c of cuts) {
    out += s.push(text.slice(at, at + c));
    at += c;
  }
  return out + s.push(text.slice(at)) + s.end();
}

describe('BundleRedactor', () => {
  const cases: [string, string, string][] = [
    // [what, input, a secret that must be gone]
    ['kubeadm token', 'token abcdef.0123456789abcdef', 'abcdef.0123456789abcdef'],
    [
      'kubeadm join flags',
      'kubeadm join 10.0.0.1:6443 --token abcdef.0123456789abcdef --certificate-key 0f1e2d3c4b5a69788796a5b4c3d2e1f0',
      '0f1e2d3c4b5a69788796a5b4c3d2e1f0',
    ],
    ['--token=', 'x --token=s3cr3t-value y', 's3cr3t-value'],
    ['yaml password', '  password: hunter2-xyz', 'hunter2-xyz'],
    ['yaml token', 'bootstrapToken: "tok-123456"', 'tok-123456'],
    ['json field', '{"user":"a","adminPassword":"p@ss w0rd"}', 'p@ss w0rd'],
    ['escaped json field', '{"msg":"{\\"password\\": \\"inner-pw\\"}"}', 'inner-pw'],
    ['OS_PASSWORD', "export OS_PASSWORD='os-pw-42'", 'os-pw-42'],
    ['env assignment', 'OS_PASSWORD=os-pw-43 openstack server list', 'os-pw-43'],
    ['bearer header', 'Authorization: Bearer abc.def.ghi-jkl', 'abc.def.ghi-jkl'],
    ['basic header', 'authorization: Basic dXNlcjpwYXNz', 'dXNlcjpwYXNz'],
    ['aws key id', 'aws key AKIAIOSFODNN7EXAMPLE used', 'AKIAIOSFODNN7EXAMPLE'],
    [
      'aws secret',
      'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      'wJalrXUtnFEMI',
    ],
    ['url credentials', 'pulling https://robot:regpass99@registry.local/x', 'regpass99'],
    [
      'jwt',
      'sa token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJlLXBhcnQtMDE',
      'eyJzdWIiOiJzeXN0ZW06c2EifQ',
    ],
    ['query string', 'GET /api?token=q-tok-1&page=2', 'q-tok-1'],
  ];
  for (const [what, input, secret] of cases) {
    it(`redacts a ${what}`, () => {
      const r = new BundleRedactor();
      const out = r.redact(input);
      expect(out).not.toContain(secret);
      expect(out).toContain(REDACTED);
    });
  }

  it('keeps what support needs: the CA cert hash, field names, empty values, ordinary words', () => {
    const r = new BundleRedactor();
    const hash = 'sha256:7c2e4bd2a5c5d6a1c8fd3e3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a39';
    const line = `kubeadm join api:6443 --discovery-token-ca-cert-hash ${hash}`;
    expect(r.redact(line)).toBe(line);
    expect(r.redact('password: ""')).toBe('password: ""');
    expect(r.redact('secretName: ceph-admin')).toBe('secretName: ceph-admin');
    expect(r.redact('tokenTTL: 24h0m0s')).toBe('tokenTTL: 24h0m0s');
    expect(r.redact('Started kubelet.service - kubelet')).toBe('Started kubelet.service - kubelet');
    expect(r.redact('query=1&page=2 pages: 3')).toBe('query=1&page=2 pages: 3');
    // No rule reaches into the next line.
    expect(r.redact('password:\nnext line\n')).toBe('password:\nnext line\n');
    expect(r.redact('token: "open\nnext" line\n')).toBe(`token: "${REDACTED}"\nnext" line\n`);
    expect(r.redact('Authorization:\nBearer\nplain words\n')).toBe(
      'Authorization:\nBearer\nplain words\n',
    );
  });

  it('keeps the query string after a redacted token', () => {
    expect(new BundleRedactor().redact('GET /api?token=q-tok-1&page=2')).toBe(
      `GET /api?token=${REDACTED}&page=2`,
    );
  });

  it('replaces a whole private-key block, also split over chunks', () => {
    const r = new BundleRedactor();
    const text = `before\n${PEM}\nafter\n`;
    expect(r.redact(text)).toBe(`before\n${REDACTED_KEY}\nafter\n`);
    const sevens = Array.from({ length: Math.ceil(text.length / 7) }, () => 7);
    expect(chunked(r, text, sevens)).toBe(`before\n${REDACTED_KEY}\nafter\n`);
    expect(r.redact(JSON.stringify({ key: PEM }))).toBe(JSON.stringify({ key: REDACTED_KEY }));
  });

  it('replaces known secrets split over chunks, and counts what it replaced', () => {
    const r = new BundleRedactor(['sudo-pw-5e7a', '']);
    expect(r.knownSecrets).toBe(1);
    const s = r.stream();
    const out = s.push('log: sudo-p') + s.push('w-5e7a ok\nnext ') + s.end();
    expect(out).toBe(`log: ${REDACTED} ok\nnext `);
    r.redact('token abcdef.0123456789abcdef');
    expect(r.counts).toEqual({ known: 1, 'kubeadm-token': 1 });
  });

  it('leaves a redacted journal line valid JSON', () => {
    const r = new BundleRedactor();
    const record = {
      type: 'host-step',
      message: 'kubeadm join --token abcdef.0123456789abcdef failed: {"password":"x\\"y"}',
      other: 'Authorization: Bearer 0123456789abcdef',
    };
    const out = r.redact(JSON.stringify(record));
    expect(() => JSON.parse(out) as unknown).not.toThrow();
    expect(out).not.toContain('0123456789abcdef');
    expect(JSON.parse(r.redact('{"pin_token": 123456, "n": 1}'))).toEqual({
      pin_token: REDACTED,
      n: 1,
    });
  });

  it('gives the same text for a stream, however it is chunked, as for the whole', () => {
    const pieces = [
      'password: pw1\n',
      `${PEM}\n`,
      '--token abcdef.0123456789abcdef ',
      'Bearer 0123456789abcdef\n',
      'plain line\n',
      '{"apiKey":"k1"}\n',
      'tail without newline',
    ];
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...pieces), { maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 30 }),
        (parts, cuts) => {
          const text = parts.join('');
          const whole = new BundleRedactor(['k1']).redact(text);
          const out = chunked(new BundleRedactor(['k1']), text, cuts);
          expect(out).toBe(whole);
        },
      ),
    );
  });

  it('never lets a planted secret through, whatever surrounds it and however it is chunked', () => {
    const secret = 'abcdef.0123456789abcdef';
    fc.assert(
      fc.property(
        fc.string(),
        fc.string(),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 20 }),
        (before, after, cuts) => {
          const text = `${before.replace(/[a-z0-9.]/g, ' ')} token ${secret} ${after}`;
          const out = chunked(new BundleRedactor(), text, cuts);
          expect(out).not.toContain(secret);
        },
      ),
    );
  });
});
