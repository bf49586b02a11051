/**
 * E2E harness (the e2e helpers): the real host in browser mode (the built CLI's `serve`, as a user
 * starts it) and a Chromium driven by playwright-core (the one the global setup found or installed,
 * see test/setup/prerequisites.ts). Set E2E_ELECTRON=1 to drive the Electron app instead where its
 * binary exists (see README).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { _electron, chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { inject } from 'vitest';
import type { RequestInput, RequestName, RequestOutput } from '../../src/shared/api';
import { cli } from '../fixtures/cli';
import { serveAddress } from '../fixtures/serve-address';
import { ROOT } from '../fixtures/assets';
import { tempDir as makeTempDir } from '../fixtures/temp';

export const SCREENSHOTS = path.join(ROOT, 'test-results', 'screenshots');

export interface Host {
  url: string;
  port: number;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `transfer-studio serve` from the build with its own user data folder. */
export async function startHost(userDataDir: string, projectDir?: string): Promise<Host> {
  const cli = path.join(ROOT, 'out', 'main', 'cli.js');
  if (!fs.existsSync(cli)) throw new Error('Build first: npm run build');
  const proc = spawn(process.execPath, [cli, 'serve', ...(projectDir ? [projectDir] : []), '--json'], {
    env: { ...process.env, TRANSFER_STUDIO_HOME: userDataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { url, port } = await serveAddress(proc, 'host');
  return {
    url,
    port,
    proc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: inject('chromiumPath'),
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page that fails the test on any uncaught page error. */
export async function openPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  return { page, errors };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/**
 * The attribute of the first element `locator` matches, or null when there is none, read at once.
 * Inside a poll: Playwright's getAttribute waits up to 30 s for an element that may never come
 * (a run that finished before its progress bar was drawn).
 */
export const attributeNow = (locator: Locator, name: string): Promise<string | null> =>
  locator.evaluateAll((els, n) => els[0]?.getAttribute(n) ?? null, name);

/** A temporary folder, removed after its test file (cleanup.ts). */
export const tempDir = (prefix: string): string => makeTempDir(`ts-${prefix}-`);

/** The studio as a user sees it: a page, with the host behind it that a test can restart. */
export interface App {
  page: Page;
  errors: string[];
  /** Browser mode only: the host's address with its token. */
  url?: string;
  port?: number;
  /** Stops the host (or Electron) and starts it again with the same user data; returns the new page. */
  restart(): Promise<Page>;
  close(): Promise<void>;
}

export const ELECTRON = process.env.E2E_ELECTRON === '1';

/** Opens the studio in browser mode (default) or, with E2E_ELECTRON=1, as the Electron app. */
export async function openApp(userDataDir: string): Promise<App> {
  if (ELECTRON) {
    const launch = async (): Promise<{ close(): Promise<void>; page: Page }> => {
      const app = await _electron.launch({ args: [path.join(ROOT, 'out', 'main', 'index.js')], env: { ...process.env, TRANSFER_STUDIO_HOME: userDataDir } as Record<string, string> });
      return { page: await app.firstWindow(), close: () => app.close() };
    };
    let current = await launch();
    const errors: string[] = [];
    current.page.on('pageerror', (e) => errors.push(e.message));
    const app: App = {
      page: current.page,
      errors,
      async restart() {
        await current.close();
        current = await launch();
        app.page = current.page;
        return current.page;
      },
      close: () => current.close(),
    };
    return app;
  }
  const browser = await launchBrowser();
  let host = await startHost(userDataDir);
  const { page, errors } = await openPage(browser, host.url);
  const app: App = {
    page,
    errors,
    url: host.url,
    port: host.port,
    async restart() {
      await host.stop();
      host = await startHost(userDataDir);
      app.url = host.url;
      app.port = host.port;
      await app.page.goto(host.url);
      return app.page;
    },
    async close() {
      await browser.close();
      await host.stop();
    },
  };
  return app;
}

/** `transfer-studio ...args --json` from the build, for what a spec sets up without the UI; its JSON result. */
export async function cliJson(home: string, ...args: string[]): Promise<Record<string, unknown>> {
  const r = await cli(home, [...args, '--json'], { built: true });
  if (r.code !== 0 || !r.json) throw new Error(`transfer-studio ${args.join(' ')} exited ${r.code}: ${r.err}`);
  return r.json;
}

/** Creates a project from the picker and waits for its empty gallery. */
export async function createProject(page: Page, dir: string): Promise<void> {
  await page.getByTestId('project-dir').fill(dir);
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.getByTestId('gallery-empty').waitFor();
}

/** Imports a folder through the gallery's import dialog and closes the report it ends with. */
export async function importFolder(page: Page, source: string): Promise<void> {
  await page.getByTestId('import-open').click();
  await page.getByTestId('import-source').fill(source);
  await page.getByTestId('import-start').click();
  await page.getByTestId('import-report').waitFor({ timeout: 30_000 });
  await page.keyboard.press('Escape');
}

/** One StudioApi request from the page (browser mode), over the same WebSocket transport the UI uses. */
export async function pageCall<K extends RequestName>(page: Page, name: K, input: RequestInput<K>): Promise<RequestOutput<K>> {
  const r = await page.evaluate(
    async ([n, i]) => {
      const token = new URLSearchParams(location.search).get('token');
      const ws = new WebSocket(`ws://${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`);
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error('socket failed'));
      });
      const reply = await new Promise<{ ok: boolean; output?: unknown; error?: { message: string } }>((resolve) => {
        ws.onmessage = (ev) => {
          const m = JSON.parse(String(ev.data)) as { id?: number; ok: boolean; output?: unknown; error?: { message: string } };
          if (m.id === 1) resolve(m);
        };
        ws.send(JSON.stringify({ id: 1, name: n, input: i }));
      });
      ws.close();
      return reply;
    },
    [name, input] as const,
  );
  if (!r.ok) throw new Error(`${name}: ${r.error?.message ?? 'failed'}`);
  return r.output as RequestOutput<K>;
}
