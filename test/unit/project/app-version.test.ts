/** The app's version is written once, in package.json, and read from there. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { version } from '../../../package.json';
import { APP_VERSION } from '../../../src/main/store/project-store';

const SRC = path.resolve(import.meta.dirname, '../../../src');

describe('app version', () => {
  it('comes from package.json', () => {
    expect(APP_VERSION).toBe(version);
  });

  it('is not written again in the source', () => {
    const literal = new RegExp(`['"\`]v?${version.replace(/\./g, '\\.')}['"\`]`);
    const files = (fs.readdirSync(SRC, { recursive: true }) as string[]).filter((f) => /\.(ts|tsx)$/.test(f));
    expect(files.length).toBeGreaterThan(50);
    expect(files.filter((f) => literal.test(fs.readFileSync(path.join(SRC, f), 'utf8')))).toEqual([]);
  });
});
