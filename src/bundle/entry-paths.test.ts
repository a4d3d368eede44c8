import { describe, expect, it } from 'vitest';
import { aggregateDigest } from './manifest.js';
import { compareEntryPaths, entryPathProblem } from './entry-paths.js';
import { curlQuoted } from './push-stream.js';
import { parseSplitSize } from './split.js';

describe('entry paths', () => {
  it.each([
    ['apt/pool/runc_1.1.5_amd64.deb'],
    ['bin/kubeadm'],
    ['charts/rook-ceph-v1.15.tgz'],
    ['files/Größe.txt'],
  ])('accepts %s', (path) => {
    expect(entryPathProblem(path)).toBeUndefined();
  });

  it.each([
    ['', /empty/],
    ['/etc/passwd', /absolute/],
    ['../etc/passwd', /"\.\."/],
    ['bin/../../x', /"\.\."/],
    ['bin\\kubeadm', /backslash/],
    ['C:/x', /drive letter/],
    ['bin//kubeadm', /normal form/],
    ['./bin/kubeadm', /normal form/],
    ['bin/', /normal form/],
    ['a\0b', /control character/],
    ['files/a\nurl = "http://elsewhere/"', /control character/],
    ['files/tab\there', /control character/],
    ['files/del\u007f', /control character/],
    ['files/say "hi"', /double quote/],
    ['files/Gro\u0308sse.txt', /normal form C/],
  ])('refuses %j', (path, why) => {
    expect(entryPathProblem(path)).toMatch(why);
  });

  it('orders by UTF-8 bytes, not UTF-16 code units', () => {
    const paths = ['files/\u{1F600}', 'files/\uFB01', 'files/a'];
    expect([...paths].sort(compareEntryPaths)).toEqual([
      'files/a',
      'files/\uFB01',
      'files/\u{1F600}',
    ]);
    expect([...paths].sort()).not.toEqual([...paths].sort(compareEntryPaths));
  });
});

describe('aggregate digest', () => {
  const a = { path: 'bin/a', kind: 'binary' as const, size: 1, sha256: 'a'.repeat(64) };
  const b = { path: 'files/b', kind: 'file' as const, size: 2, sha256: 'b'.repeat(64) };
  it('does not depend on the order entries are listed in', () => {
    expect(aggregateDigest([a, b])).toBe(aggregateDigest([b, a]));
  });
  it('changes with any field of any entry', () => {
    const base = aggregateDigest([a, b]);
    expect(aggregateDigest([{ ...a, size: 3 }, b])).not.toBe(base);
    expect(aggregateDigest([{ ...a, kind: 'file' }, b])).not.toBe(base);
    expect(aggregateDigest([{ ...a, path: 'bin/c' }, b])).not.toBe(base);
    expect(aggregateDigest([a, { ...b, sha256: 'c'.repeat(64) }])).not.toBe(base);
  });
});

describe('split sizes', () => {
  it('keeps parts strictly below the limit and on 512-byte blocks, so 4G fits FAT32', () => {
    expect(parseSplitSize('4G')).toBe(4 * 2 ** 30 - 512);
    expect(parseSplitSize('700M') % 512).toBe(0);
    expect(() => parseSplitSize('4 apples')).toThrow(/not a size/);
    expect(() => parseSplitSize('100K')).toThrow(/too small/);
  });
});

describe("curl's config values", () => {
  it('quote every path so that it stays one value', () => {
    expect(curlQuoted('files/a b')).toBe('"files/a b"');
    expect(curlQuoted('a\\"b')).toBe('"a\\\\\\"b"');
  });
});
