import { describe, expect, it } from 'vitest';
import { EXTERNAL_URL_PREFIXES, allowedExternalUrl } from '../../../main/external-links.js';

describe('allowedExternalUrl', () => {
  it('lets the pages uStart links to open, as parsed', () => {
    expect(EXTERNAL_URL_PREFIXES).toContain('https://uhurutec.com/');
    expect(allowedExternalUrl('https://uhurutec.com/')).toBe('https://uhurutec.com/');
    expect(allowedExternalUrl('https://UhuruTec.com/docs?x=1#y')).toBe(
      'https://uhurutec.com/docs?x=1#y',
    );
  });

  it.each([
    ['another https host', 'https://evil.example/'],
    ['a look-alike host', 'https://uhurutec.com.evil.example/'],
    ['a subdomain not listed', 'https://www.evil.uhurutec.com/'],
    ['credentials that hide the host', 'https://uhurutec.com@evil.example/'],
    ['credentials', 'https://user:pw@uhurutec.com/'],
    ['a port', 'https://uhurutec.com:8443/'],
    ['http', 'http://uhurutec.com/'],
    ['file', 'file:///etc/passwd'],
    ['smb (runs a handler)', 'smb://uhurutec.com/share'],
    ['javascript', 'javascript:alert(1)'],
    ['a custom scheme', 'ms-msdt:/id PCWDiagnostic'],
    ['not a URL', 'uhurutec.com'],
  ])('refuses %s', (_what, url) => {
    expect(allowedExternalUrl(url)).toBeUndefined();
  });

  it('checks the path prefix of a listed URL', () => {
    const prefixes = ['https://example.org/docs/'];
    expect(allowedExternalUrl('https://example.org/docs/a', prefixes)).toBe(
      'https://example.org/docs/a',
    );
    expect(allowedExternalUrl('https://example.org/admin', prefixes)).toBeUndefined();
    expect(allowedExternalUrl('https://example.org/docs/../admin', prefixes)).toBeUndefined();
  });
});
