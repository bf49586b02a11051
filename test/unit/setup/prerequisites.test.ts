/**
 * How the test command finds or installs what the tests need (test/setup/prerequisites.ts), decided
 * on made-up machines: temporary folders stand for PATH, the usual locations, Playwright's cache and
 * the dataset folder, and a recorded `run` stands for playwright-core's download and apt-get.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findChattr, findChromium, findFashionMnist, PrerequisiteError, type Machine } from '../../setup/prerequisites';
import { removeTempDirs, tempDir } from '../helpers';

afterEach(removeTempDirs);

type Run = Machine['run'];

/** A Linux machine with nothing installed; `answer` plays the commands it runs. */
function machine(over: Partial<Machine> = {}, answer: (cmd: string, args: string[]) => boolean = () => false) {
  const calls: string[] = [];
  const logs: string[] = [];
  const run: Run = (cmd, args, opts) => {
    calls.push([cmd, ...args].map((a) => (path.isAbsolute(a) ? path.basename(a) : a)).join(' ') + (opts.env ? ` ${JSON.stringify(opts.env)}` : ''));
    const ok = answer(cmd, args);
    // What each says when it fails offline: the reason is on an error line, not the last one.
    const failure = args[1] === 'install' ? 'Downloading Chromium\nError: getaddrinfo ENOTFOUND cdn.playwright.dev\n    at x\n}\n' : 'Reading package lists...\nE: Unable to locate package\n';
    return { ok, output: ok ? '' : failure };
  };
  const m: Machine = {
    env: { PATH: tempDir('ts-path-'), PLAYWRIGHT_BROWSERS_PATH: path.join(tempDir('ts-pw-'), 'cache') },
    platform: 'linux',
    home: tempDir('ts-home-'),
    isRoot: false,
    debian: true,
    browserLocations: [],
    run,
    log: (line) => logs.push(line),
    ...over,
  };
  return { m, calls, logs };
}

function executable(file: string, mode = 0o755): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '#!/bin/sh\n');
  fs.chmodSync(file, mode);
  return file;
}

const pathDir = (m: Machine): string => m.env['PATH']!;
const cacheDir = (m: Machine): string => m.env['PLAYWRIGHT_BROWSERS_PATH']!;
const oneLine = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(PrerequisiteError);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('expected a PrerequisiteError');
};

describe('finding Chromium', () => {
  it('takes CHROMIUM_PATH first, and refuses one that points at nothing rather than using another browser', () => {
    const { m, calls } = machine();
    const mine = executable(path.join(tempDir('ts-mine-'), 'my-chrome'));
    executable(path.join(pathDir(m), 'chromium'));
    expect(findChromium({ ...m, env: { ...m.env, CHROMIUM_PATH: mine } })).toBe(mine);
    expect(oneLine(() => findChromium({ ...m, env: { ...m.env, CHROMIUM_PATH: '/no/such/chrome' } }))).toMatch(/CHROMIUM_PATH is \/no\/such\/chrome, which is not an executable file/);
    expect(calls).toEqual([]);
  });

  it('then a system browser: on PATH (executable files only), then the usual locations; before Playwright’s cache', () => {
    const { m, calls } = machine();
    executable(path.join(cacheDir(m), 'chromium-1255', 'chrome-linux64', 'chrome'));
    executable(path.join(pathDir(m), 'chromium'), 0o644); // not executable: passed over
    const usual = executable(path.join(tempDir('ts-usr-'), 'bin', 'chromium'));
    expect(findChromium({ ...m, browserLocations: ['/nowhere/chromium', usual] })).toBe(usual);
    const chrome = executable(path.join(pathDir(m), 'google-chrome'));
    expect(findChromium({ ...m, browserLocations: [usual] })).toBe(chrome);
    expect(calls).toEqual([]);
  });

  it('then Playwright’s cache: a full Chromium before the headless shell, the newest first, in the default place without PLAYWRIGHT_BROWSERS_PATH', () => {
    const { m, calls } = machine();
    executable(path.join(cacheDir(m), 'chromium_headless_shell-1300', 'chrome-headless-shell-linux64', 'chrome-headless-shell'));
    expect(findChromium(m)).toMatch(/chromium_headless_shell-1300/);
    executable(path.join(cacheDir(m), 'chromium-1187', 'chrome-linux', 'chrome'));
    const newest = executable(path.join(cacheDir(m), 'chromium-1255', 'chrome-linux64', 'chrome'));
    fs.mkdirSync(path.join(cacheDir(m), 'chromium-1300')); // an interrupted download: no executable
    expect(findChromium(m)).toBe(newest);
    const home = tempDir('ts-home-');
    const inHome = executable(path.join(home, '.cache', 'ms-playwright', 'chromium-1000', 'chrome-linux', 'chrome'));
    expect(findChromium({ ...m, home, env: { PATH: pathDir(m) } })).toBe(inHome);
    expect(calls).toEqual([]);
  });

  it('then downloads with playwright-core (giving up quickly when it cannot connect), and uses what it downloaded', () => {
    const { m, calls, logs } = machine({}, (_cmd, args) => {
      executable(path.join(cacheDir(m), 'chromium-1255', 'chrome-linux64', 'chrome'));
      return args[1] === 'install';
    });
    expect(findChromium({ ...m, isRoot: true })).toBe(path.join(cacheDir(m), 'chromium-1255', 'chrome-linux64', 'chrome'));
    expect(calls).toEqual(['node cli.js install chromium {"PLAYWRIGHT_DOWNLOAD_CONNECTION_TIMEOUT":"15000"}']);
    expect(logs).toEqual(['No Chromium found; trying `playwright-core install chromium`.']);
  });

  it('then, as root on Debian, installs the chromium package (refreshing the package lists when apt does not know it)', () => {
    let updated = false;
    const { m, calls, logs } = machine({ isRoot: true }, (cmd, args) => {
      if (args[0] === 'update') updated = true;
      if (cmd !== 'apt-get' || args[0] !== 'install' || !updated) return false;
      executable(path.join(pathDir(m), 'chromium'));
      return true;
    });
    expect(findChromium(m)).toBe(path.join(pathDir(m), 'chromium'));
    expect(calls.map((c) => c.replace(/ \{.*/, ''))).toEqual([
      'node cli.js install chromium',
      'apt-get install -y -qq --no-install-recommends chromium',
      'apt-get update -qq',
      'apt-get install -y -qq --no-install-recommends chromium',
    ]);
    expect(calls[1]).toContain('"DEBIAN_FRONTEND":"noninteractive"');
    expect(logs).toEqual([
      'No Chromium found; trying `playwright-core install chromium`.',
      'Playwright could not download Chromium (Error: getaddrinfo ENOTFOUND cdn.playwright.dev).',
      "Installing Debian's chromium (apt-get install -y chromium).",
    ]);
  });

  it('fails with one line saying what to install when nothing can be had; apt-get only as root on Debian', () => {
    for (const over of [{ isRoot: false, debian: true }, { isRoot: true, debian: false }]) {
      const { m, calls } = machine(over);
      expect(oneLine(() => findChromium(m))).toMatch(/^The e2e tests need Chromium .*apt-get install -y chromium.*npx playwright-core install chromium.*CHROMIUM_PATH/);
      expect(calls.map((c) => c.split(' ')[0])).toEqual(['node']);
    }
    const { m, calls } = machine({ isRoot: true });
    expect(oneLine(() => findChromium(m))).toMatch(/^The e2e tests need Chromium/);
    expect(calls.map((c) => c.replace(/ \{.*/, ''))).toEqual([
      'node cli.js install chromium',
      'apt-get install -y -qq --no-install-recommends chromium',
      'apt-get update -qq',
      'apt-get install -y -qq --no-install-recommends chromium',
    ]);
  });
});

describe('chattr (root only)', () => {
  it('is not needed by a normal user', () => {
    const { m, calls } = machine();
    expect(findChattr(m)).toBeUndefined();
    expect(calls).toEqual([]);
  });

  it('as root: found on PATH and tried on a file in the temporary folder, or installed from e2fsprogs', () => {
    const tmp = tempDir('ts-tmp-');
    // Only a file that exists in the temporary folder can be made immutable.
    const { m, calls } = machine({ isRoot: true }, (cmd, args) => cmd.endsWith('chattr') && args[1]!.startsWith(tmp) && fs.existsSync(args[1]!));
    const chattr = executable(path.join(pathDir(m), 'chattr'));
    expect(findChattr(m, tmp)).toBe(chattr);
    expect(calls).toEqual(['chattr +i probe', 'chattr -i probe']);
    expect(fs.readdirSync(tmp)).toEqual([]); // the probe is removed

    const fresh = machine({ isRoot: true }, (cmd, args) => {
      if (cmd === 'apt-get' && args.includes('e2fsprogs')) executable(path.join(pathDir(fresh.m), 'chattr'));
      return true;
    });
    expect(findChattr(fresh.m, tmp)).toBe(path.join(pathDir(fresh.m), 'chattr'));
    expect(fresh.calls[0]).toMatch(/^apt-get install -y -qq --no-install-recommends e2fsprogs/);
  });

  it('as root: one line when it cannot be had, or when making a file immutable is refused', () => {
    expect(oneLine(() => findChattr(machine({ isRoot: true, debian: false }).m))).toMatch(/needs chattr: install e2fsprogs/);
    const { m } = machine({ isRoot: true }, () => false);
    executable(path.join(pathDir(m), 'chattr'));
    expect(oneLine(() => findChattr(m, tempDir('ts-tmp-')))).toMatch(/makes a file immutable, which is refused in .*CAP_LINUX_IMMUTABLE/);
  });
});

describe('Fashion-MNIST', () => {
  const FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
  const fill = (dir: string, files = FILES): void => {
    fs.mkdirSync(dir, { recursive: true });
    for (const f of files) fs.writeFileSync(path.join(dir, f), '');
  };

  it('is found where Debian puts it (or FASHION_MNIST_DIR), all four files', () => {
    const { m, calls } = machine();
    const dir = path.join(tempDir('ts-fm-'), 'fashion-mnist');
    fill(dir);
    expect(findFashionMnist(m, dir)).toBe(dir);
    expect(findFashionMnist({ ...m, env: { ...m.env, FASHION_MNIST_DIR: dir } })).toBe(dir);
    const partial = path.join(tempDir('ts-fm-'), 'fashion-mnist');
    fill(partial, FILES.slice(0, 2));
    expect(oneLine(() => findFashionMnist(m, partial))).toMatch(/Fashion-MNIST is missing from .*apt-get install -y dataset-fashion-mnist/);
    expect(calls).toEqual([]);
  });

  it('is installed from dataset-fashion-mnist as root on Debian', () => {
    const dir = path.join(tempDir('ts-fm-'), 'fashion-mnist');
    const { m, calls } = machine({ isRoot: true }, (_cmd, args) => {
      if (args.includes('dataset-fashion-mnist')) fill(dir);
      return true;
    });
    expect(findFashionMnist(m, dir)).toBe(dir);
    expect(calls.map((c) => c.replace(/ \{.*/, ''))).toEqual(['apt-get install -y -qq --no-install-recommends dataset-fashion-mnist']);
  });
});
