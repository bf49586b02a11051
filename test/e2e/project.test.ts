import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ELECTRON, openApp, screenshot, tempDir, type App } from './harness';

let app: App;
const home = tempDir('e2e-home');
const work = tempDir('e2e-work');

beforeAll(async () => {
  app = await openApp(home);
});
afterAll(async () => {
  await app?.close();
});

describe('foundation: projects and classes through the real UI and host', () => {
  it('creates a project, adds classes, and finds them again after a host restart', async () => {
    const { page } = app;
    const dir = path.join(work, 'flowers');
    await page.getByTestId('project-dir').fill(dir);
    await page.getByTestId('project-name-input').fill('Flowers');
    await screenshot(page, 'project-picker');
    await page.getByRole('button', { name: 'Create project' }).click();
    await expect.poll(() => page.getByTestId('project-name').textContent()).toBe('Flowers');
    for (const name of ['daisy', 'tulip', 'rose']) {
      await page.getByTestId('new-class').fill(name);
      await page.getByTestId('new-class').press('Enter');
    }
    await expect.poll(() => page.getByTestId('class-row').count()).toBe(3);
    // Rename through the row's menu.
    await page.getByRole('button', { name: 'Actions for rose' }).click();
    await page.getByRole('menuitem', { name: 'Rename' }).click();
    await page.getByLabel('Class name', { exact: true }).fill('rosa');
    await page.getByLabel('Class name', { exact: true }).press('Enter');
    await expect.poll(() => page.locator('[data-class-name="rosa"]').count()).toBe(1);
    await screenshot(page, 'classes');

    const again = await app.restart();
    // The new host starts with no project open: the recent list brings it back.
    await again.getByTestId('recent-project').getByText('Flowers', { exact: true }).click();
    await expect.poll(() => again.getByTestId('class-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-class-name')))).toEqual([
      'daisy',
      'tulip',
      'rosa',
    ]);
    expect(app.errors).toEqual([]);
  });

  it('shows a typed error for a duplicate class and keeps working', async () => {
    const { page } = app;
    await page.getByTestId('new-class').fill('Daisy');
    await page.getByTestId('new-class').press('Enter');
    await expect.poll(() => page.getByTestId('error').getAttribute('data-code')).toBe('conflict');
    await page.getByTestId('new-class').fill('lily');
    await page.getByTestId('new-class').press('Enter');
    await expect.poll(() => page.getByTestId('class-row').count()).toBe(4);
  });

  it.skipIf(ELECTRON)('answers a malformed request on the socket with a typed error; the app keeps working', async () => {
    const { page } = app;
    const replies = await page.evaluate(async () => {
      const ws = new WebSocket(`ws://${location.host}/ws`);
      await new Promise((r) => (ws.onopen = r));
      const answers: unknown[] = [];
      ws.onmessage = (e) => {
        const m = JSON.parse(String(e.data)) as { id?: number };
        if (m.id !== undefined) answers.push(m);
      };
      ws.send(JSON.stringify({ id: 1, name: 'addClass', input: { name: 7 } }));
      ws.send('{broken');
      ws.send(JSON.stringify({ id: 2, name: 'deleteEverything', input: {} }));
      await new Promise((r) => setTimeout(r, 500));
      ws.close();
      return answers;
    });
    expect(replies).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ id: 1, ok: false, error: expect.objectContaining({ code: 'bad_request', field: 'name' }) }),
        expect.objectContaining({ id: -1, ok: false, error: expect.objectContaining({ code: 'bad_request' }) }),
        expect.objectContaining({ id: 2, ok: false, error: expect.objectContaining({ code: 'unknown_request' }) }),
      ]),
    );
    await page.getByTestId('new-class').fill('iris');
    await page.getByTestId('new-class').press('Enter');
    await expect.poll(() => page.locator('[data-class-name="iris"]').count()).toBe(1);
  });

  it.skipIf(ELECTRON)('refuses the page and the socket without the token', async () => {
    const res = await fetch(`http://127.0.0.1:${app.port}/`);
    expect(res.status).toBe(401);
    expect(await res.text()).toMatch(/token/);
    const { page } = app;
    // A fresh browser context has no cookie: its socket is refused.
    const ctx = await page.context().browser()!.newContext();
    const stranger = await ctx.newPage();
    const r = await stranger.goto(`http://127.0.0.1:${app.port}/`);
    expect(r?.status()).toBe(401);
    await ctx.close();
  });

  it('says clearly when a folder is not a project', async () => {
    const { page } = app;
    await page.getByText('Close project').click();
    await page.getByTestId('project-dir').fill(path.join(work, 'nothing-here'));
    await page.getByRole('button', { name: 'Open project' }).click();
    await expect.poll(() => page.getByTestId('error').getAttribute('data-code')).toBe('not_a_project');
    await screenshot(page, 'not-a-project');
  });
});
