/** ESLint keeps SQL in src/main/store/: the rule in eslint.config.js, run on code placed elsewhere. */
import path from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const eslint = new ESLint({ cwd: ROOT });

async function sqlErrors(code: string, file: string): Promise<number> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result!.messages.filter((m) => m.message.startsWith('SQL belongs in src/main/store/')).length;
}

const SQL = [
  "store.db.prepare('SELECT 1').get();",
  'db.prepare(`SELECT ${cols} FROM images`).all();',
  'db.prepare(sql).all();',
  'this.project.db.exec(sql);',
  "conn.exec('DELETE FROM runs');",
  "d.pragma('integrity_check', { simple: true });",
  'd.transaction(() => 1)();',
];

const NOT_SQL = [
  '/^a(b)$/.exec(text);',
  "/^\\d+$/.exec('123');",
  're.exec(text);',
  'source.prepare(items.slice(0, 8), true, null);',
];

describe('SQL outside src/main/store/', () => {
  // Loading the config and the TypeScript parser takes seconds on a busy machine: once, up front.
  beforeAll(() => sqlErrors('', 'src/main/example.ts'), 120_000);

  it.each(SQL)('is refused in a service: %s', async (code) => {
    expect(await sqlErrors(code, 'src/main/export/example.ts')).toBe(1);
    expect(await sqlErrors(code, 'src/main/engine/example.ts')).toBe(1);
  });

  it.each(SQL)('is allowed in the store: %s', async (code) => {
    expect(await sqlErrors(code, 'src/main/store/example.ts')).toBe(0);
  });

  it.each(NOT_SQL)('leaves other calls of the same names alone: %s', async (code) => {
    expect(await sqlErrors(code, 'src/main/host/example.ts')).toBe(0);
  });
});
