/** Opening user-chosen files as what they claim to be: real FIFOs, devices, links and files on disk. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkUserFile, openUserFile, readUserFile, readUserFileSync, streamUserFile, UserFileError } from '../../../src/shared/node/user-file';
import { removeTempDirs, tempDir } from '../../fixtures/temp';

afterAll(removeTempDirs);

const posix = process.platform !== 'win32';

async function reason(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserFileError);
  return (err as UserFileError).reason;
}

async function drain(file: string, opts: Parameters<typeof streamUserFile>[1]): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of streamUserFile(file, opts)) parts.push(c);
  return Buffer.concat(parts);
}

describe.runIf(posix)('user files', () => {
  const root = tempDir('ts-userfile-');
  const data = path.join(root, 'data');
  fs.mkdirSync(data);
  fs.writeFileSync(path.join(data, 'a.txt'), 'hello');
  const outside = path.join(root, 'secret.txt');
  fs.writeFileSync(outside, 'secret');

  it('reads a regular file, whole or streamed, through a link that stays in its folder', async () => {
    fs.symlinkSync('a.txt', path.join(data, 'inner-link.txt'));
    expect(String(await readUserFile(path.join(data, 'a.txt'), { root: data }))).toBe('hello');
    expect(String(await readUserFile(path.join(data, 'inner-link.txt'), { root: data }))).toBe('hello');
    expect(String(readUserFileSync(path.join(data, 'inner-link.txt'), { root: data }))).toBe('hello');
    expect(String(await drain(path.join(data, 'a.txt'), { root: data, chunkBytes: 2 }))).toBe('hello');
    expect((await checkUserFile(path.join(data, 'inner-link.txt'), { root: data })).realPath).toBe(fs.realpathSync(path.join(data, 'a.txt')));
  });

  it('refuses a link leading outside the folder it was named from, whole, streamed or sync', async () => {
    fs.symlinkSync(outside, path.join(data, 'escape.txt'));
    fs.symlinkSync(root, path.join(data, 'up'));
    for (const f of [path.join(data, 'escape.txt'), path.join(data, 'up', 'secret.txt')]) {
      expect(await reason(readUserFile(f, { root: data }))).toMatch(/outside its folder/);
      expect(await reason(drain(f, { root: data }))).toMatch(/outside its folder/);
      expect(() => readUserFileSync(f, { root: data })).toThrow(/outside its folder/);
    }
    // Without a root (a file the user named on its own), the link is the user's choice.
    expect(String(await readUserFile(path.join(data, 'escape.txt')))).toBe('secret');
  });

  it('refuses a FIFO, a device and a socket without blocking on them', async () => {
    const fifo = path.join(data, 'fifo.jpg');
    execFileSync('mkfifo', [fifo]);
    const sock = path.join(data, 'sock.jpg');
    const server = net.createServer().listen(sock);
    await new Promise((r) => server.once('listening', r));
    try {
      expect(await reason(readUserFile(fifo, { root: data }))).toBe('not a regular file (a FIFO)');
      expect(await reason(openUserFile(fifo))).toBe('not a regular file (a FIFO)');
      expect(() => readUserFileSync(fifo)).toThrow(/a FIFO/);
      expect(await reason(readUserFile('/dev/zero'))).toBe('not a regular file (a character device)');
      expect(await reason(readUserFile(sock))).toBe('not a regular file (a socket)');
      expect(await reason(readUserFile(data))).toBe('is a folder, not a file');
      expect(await reason(readUserFile(path.join(data, 'none.jpg')))).toBe('missing file');
    } finally {
      server.close();
    }
  });

  it('refuses a file larger than the limit rather than cutting it', async () => {
    fs.writeFileSync(path.join(data, 'big.bin'), Buffer.alloc(1000));
    expect(await reason(readUserFile(path.join(data, 'big.bin'), { maxBytes: 999 }))).toMatch(/too large/);
    expect(await reason(drain(path.join(data, 'big.bin'), { maxBytes: 999 }))).toMatch(/too large/);
    expect((await readUserFile(path.join(data, 'big.bin'), { maxBytes: 1000 })).length).toBe(1000);
  });
});
