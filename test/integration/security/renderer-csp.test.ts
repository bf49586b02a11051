/**
 * The Electron window's CSP is a meta tag in the built index.html (issue 13): onHeadersReceived never
 * sees a file:// load, so the built file itself must carry the policy. Needs npm run build.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CSP, META_CSP } from '../../../src/main/host/csp';
import { ROOT } from './helpers';

function directives(policy: string): Map<string, string[]> {
  return new Map(
    policy
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...values]) => [name!, values]),
  );
}

describe('the built renderer', () => {
  const html = fs.readFileSync(path.join(ROOT, 'out', 'renderer', 'index.html'), 'utf8');
  const head = html.slice(0, html.indexOf('</head>'));

  it('carries the policy as a meta tag, before any script or style', () => {
    const metas = [...head.matchAll(/<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"/gi)];
    expect(metas).toHaveLength(1);
    const meta = metas[0]!;
    expect(meta[1]).toBe(META_CSP);
    const firstResource = head.search(/<script|<link/i);
    expect(firstResource).toBeGreaterThan(meta.index);
  });

  it('allows scripts only from the app, images from the app and studio-file:, nothing remote', () => {
    const d = directives(META_CSP);
    expect(d.get('default-src')).toEqual(["'self'"]);
    expect(d.get('script-src')).toEqual(["'self'"]);
    expect(d.get('img-src')).toEqual(expect.arrayContaining(["'self'", 'studio-file:']));
    expect(d.get('object-src')).toEqual(["'none'"]);
    expect(d.get('base-uri')).toEqual(["'none'"]);
    for (const [name, values] of d) {
      expect(values.filter((v) => /unsafe-eval|^https?:$|^\*$|^https?:\/\/(?!127\.0\.0\.1|localhost)/.test(v)), name).toEqual([]);
      if (name !== 'style-src') expect(values, name).not.toContain("'unsafe-inline'");
    }
    // frame-ancestors means nothing in a meta tag (the browser warns); the header keeps it.
    expect(d.has('frame-ancestors')).toBe(false);
    expect(directives(CSP).get('frame-ancestors')).toEqual(["'none'"]);
  });

  it('has no inline script that the policy would block', () => {
    for (const tag of html.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/gi)) {
      expect(tag[0]).toMatch(/\ssrc="\.\/assets\//);
      expect(tag[1]!.trim()).toBe('');
    }
  });
});
