/**
 * Ctrl-C and kill of `transfer-studio` as a user's terminal and system send them: real SIGINT and
 * SIGTERM to the process that bin/transfer-studio.js starts. The server stops, nothing is left
 * running, and the project's database is closed cleanly (SQLite removes its -wal file only then).
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { alive, childrenOf } from '../reliability/helpers';
import { connect, listeningAddresses, removeTempDirs, rpc, serve, tempDir } from './helpers';

afterAll(removeTempDirs);

describe.each(['SIGINT', 'SIGTERM'] as const)('transfer-studio serve and %s', (signal) => {
  it('stops the server, leaves no process behind and closes the database cleanly', async () => {
    const home = tempDir();
    const project = path.join(home, 'p');
    const server = await serve(home, undefined, { viaBin: true });
    const ws = await connect(server.port, server.token);
    expect(await rpc(ws, 'createProject', { dir: project })).toMatchObject({ ok: true });
    expect(await rpc(ws, 'addClass', { name: 'cat' })).toMatchObject({ ok: true });
    // The write sits in the write-ahead log until the database is closed.
    expect(fs.existsSync(path.join(project, 'project.sqlite-wal'))).toBe(true);
    // Everything the command started; bin/transfer-studio.js must not leave a child behind it.
    const family = [server.proc.pid!, ...childrenOf(server.proc.pid!)];
    try {
      const code = await server.stop(signal);
      expect(code, server.stderr()).toBe(0);
      await new Promise((r) => setTimeout(r, 300));
      expect(family.filter(alive)).toEqual([]);
      expect(listeningAddresses(server.port)).toEqual([]);
    } finally {
      for (const pid of family.filter(alive)) process.kill(pid, 'SIGKILL');
    }
    expect(fs.existsSync(path.join(project, 'project.sqlite-wal'))).toBe(false);
    const db = new Database(path.join(project, 'project.sqlite'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.prepare('SELECT name FROM classes').all()).toEqual([{ name: 'cat' }]);
    db.close();
  });
});
