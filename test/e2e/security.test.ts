/**
 * Hostile images in a real browser (issue 13): a GIF that is also JavaScript, named x.js, and a PNG
 * with a page after it, named evil.html, really imported, then opened in tabs of the studio's own
 * origin and pulled in as a script. Nothing in them runs. Also: the token leaves the address bar,
 * the cookie is out of the page's reach, and the page's CSP holds without a violation.
 */
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Studio } from '../../src/main/host/studio';
import { writeHostileImages } from '../fixtures/hostile';
import { ELECTRON, launchBrowser, startHost, tempDir, type Host } from './harness';

describe.skipIf(ELECTRON)('hostile files in the browser', () => {
  let host: Host;
  let browser: Browser;
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    const home = tempDir('hostile');
    const project = path.join(home, 'project');
    const files = await writeHostileImages(path.join(home, 'downloads'));
    // Imported as a user would (a list of files), through the real Studio.
    const studio = new Studio({ userDataDir: home, mode: 'test' });
    await studio.call('createProject', { dir: project });
    const job = await studio.jobs.wait((await studio.call('importImages', { source: [files.js, files.html], kind: 'files' })).id);
    expect(job.state).toBe('succeeded');
    for (const row of (await studio.call('listImages', {})).rows) ids[row.fileName] = row.id;
    await studio.dispose();
    host = await startHost(home, project);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await host?.stop();
  });

  it('opens the studio: the token leaves the address bar, the cookie is not the page’s to read, no CSP violation', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const violations: string[] = [];
    page.on('console', (m) => {
      if (/Content[- ]Security[- ]Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    await page.goto(host.url);
    await page.getByTestId('gallery-empty').or(page.locator('img').first()).waitFor();
    expect(new URL(page.url()).searchParams.has('token')).toBe(false);
    expect(await page.evaluate(() => document.cookie)).toBe('');
    // The socket still opens (the cookie carries the token) and the thumbnails load under the policy.
    await expect.poll(() => page.evaluate(() => [...document.images].filter((i) => i.complete && i.naturalWidth > 0).length)).toBeGreaterThan(0);
    await page.reload();
    await expect.poll(() => page.evaluate(() => [...document.images].filter((i) => i.complete && i.naturalWidth > 0).length)).toBeGreaterThan(0);
    expect(violations).toEqual([]);
    await ctx.close();
  });

  it('x.js and evil.html opened in a tab show as images and run nothing', async () => {
    const ctx = await browser.newContext();
    const app = await ctx.newPage();
    await app.goto(host.url); // gets the cookie, as the user's own tab would
    for (const name of ['x.js', 'evil.html']) {
      const tab = await ctx.newPage();
      const res = await tab.goto(`http://127.0.0.1:${host.port}/files/image/${ids[name]}`);
      expect(res?.status(), name).toBe(200);
      expect(res?.headers()['content-type'], name).toMatch(/^image\/(gif|png)$/);
      await tab.waitForTimeout(300);
      expect(await tab.evaluate(() => (window as unknown as { pwned?: number }).pwned), name).toBeUndefined();
      expect(await tab.title(), name).not.toBe('pwned');
      expect(await tab.evaluate(() => document.querySelector('script')), name).toBeNull();
      // What the browser made of it: an image document, in an opaque (sandboxed) origin.
      expect(await tab.evaluate(() => document.images.length), name).toBe(1);
      expect(await tab.evaluate(() => window.origin), name).toBe('null');
      await tab.close();
    }
    await ctx.close();
  });

  it('pulled into the studio’s own page as a script, the image is refused and runs nothing', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(host.url);
    const outcome = await page.evaluate(
      (src) =>
        new Promise<string>((resolve) => {
          const s = document.createElement('script');
          s.src = src;
          s.onload = () => resolve('loaded');
          s.onerror = () => resolve('refused');
          document.head.appendChild(s);
        }),
      `/files/image/${ids['x.js']}`,
    );
    expect(outcome).toBe('refused');
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    await ctx.close();
  });
});
