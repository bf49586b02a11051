/**
 * "Train on: this machine / a server over SSH" in the real UI against a real sshd on 127.0.0.1
 * (test/fixtures/sshd.ts): the address typed, "Test connection" shows what the server's engine
 * reported (its version and host, runtime, memory), and "Use it" saves the choice for this machine.
 */
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_VERSION } from '../../src/main/store/project-store';
import { startSshd, type SshServer } from '../fixtures/sshd';
import { removeTempDirs } from '../fixtures/temp';
import { type App, createProject, openApp, pageCall, screenshot, tempDir } from './harness';

describe('Train on a server over SSH', () => {
  let server: SshServer;
  let app: App;
  const saved = process.env['TRANSFER_STUDIO_SSH_OPTIONS'];

  beforeAll(async () => {
    server = await startSshd();
    // The host started below inherits it: its ssh uses the test's keys and known_hosts.
    process.env['TRANSFER_STUDIO_SSH_OPTIONS'] = server.clientEnv['TRANSFER_STUDIO_SSH_OPTIONS'];
    app = await openApp(tempDir('engine-choice-home'));
    await createProject(app.page, path.join(tempDir('engine-choice-proj'), 'p'));
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await server?.stop();
    removeTempDirs(); // the server's keys, config and cache
    if (saved === undefined) delete process.env['TRANSFER_STUDIO_SSH_OPTIONS'];
    else process.env['TRANSFER_STUDIO_SSH_OPTIONS'] = saved;
  });

  it('tests the connection, shows what the server reported and saves the choice', async () => {
    const { page } = app;
    await page.locator('nav[aria-label="Screens"]').getByText('Train', { exact: true }).click();
    await page.getByTestId('tab-wizard').click();
    await page.getByTestId('engine-choice').getByText('a server over SSH').click();
    await page.getByTestId('engine-address').fill(server.address());
    await page.getByTestId('engine-test').click();
    const report = page.getByTestId('engine-report');
    await report.waitFor({ timeout: 90_000 });
    const text = await report.innerText();
    expect(text).toContain(`Transfer Studio ${APP_VERSION} on ${os.hostname()} (over SSH)`);
    expect(text).toMatch(/memory free/);
    await screenshot(page, 'train-on-server');
    await page.getByTestId('engine-save').click();
    await expect.poll(async () => (await pageCall(page, 'engineSetting', {})).engine, { timeout: 10_000 }).toBe(server.address());
    expect(app.errors).toEqual([]);
  }, 120_000);
});
