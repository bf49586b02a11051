/**
 * Browser mode attacked from this machine (issue 13): the real `transfer-studio serve` process,
 * malformed raw requests before and after the token, hostile files really imported and requested,
 * a swapped symbolic link, bad WebSocket frames, and the properties that keep other pages and
 * other machines out (the listening address, the cookie, the socket's token). After every attack
 * the same server must still answer.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_IDS, MAX_LABEL_GROUPS, MAX_MESSAGE_BYTES } from '../../../src/shared/api';
import type { ImageRow } from '../../../src/shared/domain';
import { servedFileHeaders } from '../../../src/main/host/served-file';
import { writeHostileImages } from '../../fixtures/hostile';
import { connect, get, header, jobFinished, listeningAddresses, raw, removeTempDirs, rpc, serve, statusOf, tempDir, type Served } from './helpers';

let home: string;
let project: string;
let server: Served;
let cookie: string;
let ws: WebSocket;
let rows: Map<string, ImageRow>;
let sourceDir: string;

beforeAll(async () => {
  home = tempDir();
  project = path.join(home, 'project');
  sourceDir = path.join(home, 'downloads');
  const hostile = await writeHostileImages(sourceDir);
  const plain = path.join(sourceDir, 'plain.png');
  await sharp({ create: { width: 16, height: 12, channels: 3, background: { r: 10, g: 120, b: 40 } } }).png().toFile(plain);
  server = await serve(home);
  cookie = `ts_token_${server.port}=${server.token}`;
  ws = await connect(server.port, server.token);
  expect(await rpc(ws, 'createProject', { dir: project })).toMatchObject({ ok: true });
  const started = await rpc(ws, 'importImages', { source: [hostile.js, hostile.html, plain], kind: 'files' });
  if (!started.ok) throw new Error(started.error.message);
  const job = await jobFinished(ws, (started.output as { id: string }).id);
  expect(job).toMatchObject({ state: 'succeeded', result: { added: 3 } });
  const list = await rpc(ws, 'listImages', {});
  if (!list.ok) throw new Error(list.error.message);
  rows = new Map((list.output as { rows: ImageRow[] }).rows.map((r) => [r.fileName, r]));
});

afterAll(async () => {
  ws?.close();
  await server?.stop();
  removeTempDirs();
});

/** The server process is alive and answers an ordinary authorised request. */
async function stillAnswers(): Promise<void> {
  expect(server.proc.exitCode).toBeNull();
  expect((await get(server.port, '/', { Cookie: cookie })).status).toBe(200);
}

describe('who can reach the studio', () => {
  it('listens on 127.0.0.1 only (the real listening socket), not on other addresses or IPv6', async () => {
    expect(listeningAddresses(server.port)).toEqual(['127.0.0.1']);
    const v6 = await new Promise<string>((resolve) => {
      const s = net.connect(server.port, '::1');
      s.on('connect', () => resolve('connected'));
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    });
    expect(v6).not.toBe('connected');
  });

  it('gives the token back as an HttpOnly, SameSite=Strict cookie named for its port', async () => {
    const first = await get(server.port, `/?token=${server.token}`);
    expect(first.status).toBe(200);
    const setCookie = header(first.answer, 'set-cookie')!;
    const [pair, ...attrs] = setCookie.split(';').map((p) => p.trim());
    expect(pair).toBe(cookie);
    expect(attrs.map((a) => a.toLowerCase())).toEqual(expect.arrayContaining(['httponly', 'samesite=strict', 'path=/']));
    expect((await get(server.port, '/', { Cookie: cookie })).status).toBe(200);
    // The old shared name, and another port's cookie, open nothing.
    expect((await get(server.port, '/', { Cookie: `ts_token=${server.token}` })).status).toBe(401);
    expect((await get(server.port, '/', { Cookie: `ts_token_${server.port + 1}=${server.token}` })).status).toBe(401);
  });

  it('refuses the WebSocket without the token, with a wrong one, or from another origin; the cookie opens it', async () => {
    await expect(connect(server.port, undefined)).rejects.toThrow(/401/);
    await expect(connect(server.port, 'wrong')).rejects.toThrow(/401/);
    await expect(connect(server.port, undefined, { Cookie: `ts_token=${server.token}` })).rejects.toThrow(/401/);
    const evil = new WebSocket(`ws://127.0.0.1:${server.port}/ws?token=${server.token}`, { origin: 'http://evil.example' });
    await expect(new Promise((resolve, reject) => {
      evil.once('open', resolve);
      evil.once('unexpected-response', (_q, res) => reject(new Error(`refused ${res.statusCode}`)));
    })).rejects.toThrow(/403/);
    const byCookie = await connect(server.port, undefined, { Cookie: cookie });
    expect(await rpc(byCookie, 'appInfo', {})).toMatchObject({ ok: true, output: { mode: 'browser' } });
    byCookie.close();
  });

  it('refuses a leading part of the token and the token with a character added, over HTTP and over the WebSocket', async () => {
    const t = server.token;
    const near = [t.slice(0, -1), t.slice(0, 8), t[0]!, `${t}A`, `${t}-`, `A${t}`];
    for (const w of near) {
      expect((await get(server.port, `/?token=${w}`)).status, `?token=${w}`).toBe(401);
      expect((await get(server.port, '/', { Cookie: `ts_token_${server.port}=${w}` })).status, `cookie ${w}`).toBe(401);
      await expect(connect(server.port, w), `socket ?token=${w}`).rejects.toThrow(/401/);
      await expect(connect(server.port, undefined, { Cookie: `ts_token_${server.port}=${w}` }), `socket cookie ${w}`).rejects.toThrow(/401/);
    }
    // The whole token still opens both.
    expect((await get(server.port, `/?token=${t}`)).status).toBe(200);
    const whole = await connect(server.port, t);
    expect(await rpc(whole, 'appInfo', {})).toMatchObject({ ok: true });
    whole.close();
  });
});

describe('malformed requests answer 400 and never end the server', () => {
  const targets = ['http://[', 'http://[::1', '/%E0%A4%A', '/%', '/%00', '/?token=%E0%A4%A', '*', '//', '/files/image/99999999999999999999', '/files/image/-1', '/files/thumb/1e3'];

  it.each([
    ['before the token', {} as Record<string, string>],
    ['with the token', null],
  ])('request targets, %s', async (_label, headers) => {
    for (const target of targets) {
      const { status } = await get(server.port, target, headers ?? { Cookie: cookie });
      // 200 is the app itself (an unknown path is the single-page app), never a file outside it.
      expect(headers ? [400, 401] : [200, 400, 401, 404], target).toContain(status);
    }
    expect((await get(server.port, 'http://[')).status).toBe(400);
    expect((await get(server.port, '/%E0%A4%A', { Cookie: cookie })).status).toBe(400);
    await stillAnswers();
  });

  it('cookies that are not valid escapes, and other broken headers', async () => {
    for (const c of [`ts_token_${server.port}=%E0%A4%A`, 'ts_token=%E0%A4%A', '=;;==;', `ts_token_${server.port}=`, 'a'.repeat(12000)])
      expect(await get(server.port, '/', { Cookie: c }).then((r) => r.status)).toBe(401);
    // No Host at all, a header line Node cannot parse, a request line that is not HTTP.
    expect(statusOf(await raw(server.port, 'GET / HTTP/1.0\r\n\r\n'))).toBe(403);
    expect(statusOf(await raw(server.port, `GET / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nBad Header\r\n\r\n`))).toBe(400);
    expect(statusOf(await raw(server.port, 'NOT HTTP AT ALL\r\n\r\n'))).toBe(400);
    expect(await get(server.port, '/', { Cookie: cookie, 'X-Huge': 'x'.repeat(100_000) }).then((r) => r.status)).toBe(431);
    expect(await get(server.port, '/', { Cookie: cookie }).then((r) => r.status)).toBe(200);
    await stillAnswers();
  });

  it('a traversal in the path serves the app, never a file outside it; other methods are refused', async () => {
    for (const target of ['/../../../../etc/passwd', '/..%2f..%2f..%2f..%2fetc%2fpasswd', '/assets/..%5c..%5c..%5cpackage.json']) {
      const r = await get(server.port, target, { Cookie: cookie });
      expect(r.status).toBe(200);
      expect(r.answer).not.toMatch(/root:|"name": "transfer-studio"/);
    }
    const post = await raw(server.port, `POST / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nCookie: ${cookie}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
    expect(statusOf(post)).toBe(405);
    await stillAnswers();
  });

  it('WebSocket upgrades with a broken target or path are refused', async () => {
    const upgrade = (target: string): string =>
      `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nOrigin: http://127.0.0.1:${server.port}\r\nCookie: ${cookie}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
    expect(statusOf(await raw(server.port, upgrade('http://[')))).toBe(400);
    expect(statusOf(await raw(server.port, upgrade('/%E0%A4%A')))).toBe(404);
    expect(statusOf(await raw(server.port, upgrade('/ws'), 500))).toBe(101); // stays open: read what came in half a second
    // A client that drops the connection in the middle of its upgrade request.
    const half = net.connect(server.port, '127.0.0.1');
    half.write(upgrade('/ws').slice(0, 40));
    half.resetAndDestroy();
    await stillAnswers();
  });
});

describe('hostile files are served as what they are, and nothing in them can run', () => {
  it('an image named x.js or evil.html is served with its decoded type, nosniff and a sandbox policy', async () => {
    for (const [name, type] of [
      ['x.js', 'image/gif'],
      ['evil.html', 'image/png'],
      ['plain.png', 'image/png'],
    ] as const) {
      const r = await get(server.port, `/files/image/${rows.get(name)!.id}`, { Cookie: cookie });
      expect(r.status, name).toBe(200);
      expect(header(r.answer, 'content-type')).toBe(type);
      expect(header(r.answer, 'x-content-type-options')).toBe('nosniff');
      expect(header(r.answer, 'content-security-policy')).toMatch(/default-src 'none'.*sandbox/);
      expect(header(r.answer, 'content-disposition')).toBe('inline');
      const thumb = await get(server.port, `/files/thumb/${rows.get(name)!.id}`, { Cookie: cookie });
      expect(header(thumb.answer, 'content-type')).toBe('image/webp');
      expect(header(thumb.answer, 'content-security-policy')).toMatch(/sandbox/);
    }
    // Without the cookie, no file at all.
    expect((await get(server.port, `/files/image/${rows.get('x.js')!.id}`)).status).toBe(401);
  });

  it('bytes that are no image we know are a download, never a page', () => {
    const h = servedFileHeaders(Buffer.from('<!doctype html><script>alert(1)</script>'));
    expect(h).toMatchObject({ 'Content-Type': 'application/octet-stream', 'Content-Disposition': 'attachment', 'X-Content-Type-Options': 'nosniff' });
  });

  it('a symbolic link swapped in for an imported file, or other content, is refused; the original is served again once back', async () => {
    const id = rows.get('plain.png')!.id;
    const file = path.join(sourceDir, 'plain.png');
    const original = fs.readFileSync(file);
    const secret = path.join(home, 'secret.png');
    fs.writeFileSync(secret, await sharp({ create: { width: 4, height: 4, channels: 3, background: '#fff' } }).png().toBuffer());
    const thumbs = path.join(project, 'thumbs');
    const dropThumbs = (): void => fs.rmSync(thumbs, { recursive: true, force: true });

    fs.rmSync(file);
    fs.symlinkSync(secret, file);
    dropThumbs();
    expect((await get(server.port, `/files/image/${id}`, { Cookie: cookie })).status).toBe(404);
    expect((await get(server.port, `/files/thumb/${id}`, { Cookie: cookie })).status).toBe(404);

    fs.rmSync(file);
    fs.writeFileSync(file, fs.readFileSync(secret)); // other content under the same name
    expect((await get(server.port, `/files/image/${id}`, { Cookie: cookie })).status).toBe(404);

    fs.writeFileSync(file, original);
    expect((await get(server.port, `/files/image/${id}`, { Cookie: cookie })).status).toBe(200);
    expect((await get(server.port, `/files/thumb/${id}`, { Cookie: cookie })).status).toBe(200);
  });
});

describe('WebSocket frames', () => {
  /** Resolves with the close code of `sock`. */
  const closed = (sock: WebSocket): Promise<number> => new Promise((resolve) => sock.once('close', (code) => resolve(code)));

  it('a frame over the limit closes that socket only (1009); the others and the server go on', async () => {
    const victim = await connect(server.port, server.token);
    const code = closed(victim);
    victim.on('error', () => undefined);
    victim.send('x'.repeat(MAX_MESSAGE_BYTES + 1));
    expect(await code).toBe(1009);
    expect(await rpc(ws, 'appInfo', {})).toMatchObject({ ok: true });
    await stillAnswers();
  });

  it('a text frame of invalid UTF-8 closes that socket only (1007); binary frames and garbage get typed errors', async () => {
    const victim = await connect(server.port, server.token);
    const code = closed(victim);
    victim.on('error', () => undefined);
    victim.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect(await code).toBe(1007);

    const other = await connect(server.port, server.token);
    const answers: unknown[] = [];
    other.on('message', (d) => answers.push(JSON.parse(String(d))));
    other.send(Buffer.from('{"id":1,"name":"appInfo","input":{}}'), { binary: true });
    for (const bad of ['not json', 'null', '[]', '{"id":"1"}', '{"id":1e400}', '{"name":"appInfo"}', '"\\ud800"']) other.send(bad);
    await expect.poll(() => answers.length).toBe(8);
    for (const a of answers) expect(a).toMatchObject({ id: -1, ok: false, error: { code: 'bad_request' } });
    other.close();
    await stillAnswers();
  });

  it('the largest valid bulk requests fit in a frame and go through; one id more is a typed error', async () => {
    const many = (n: number): number[] => Array.from({ length: n }, (_, i) => Number.MAX_SAFE_INTEGER - i);
    const groups = Array.from({ length: MAX_LABEL_GROUPS }, (_, g) => ({ classId: null, ids: many(MAX_IDS / MAX_LABEL_GROUPS).map((x) => x - g * 1000) }));
    const biggest: [string, unknown][] = [
      ['setLabels', { ids: many(MAX_IDS), classId: Number.MAX_SAFE_INTEGER }],
      ['setLabels', { ids: many(MAX_IDS), classId: null }],
      ['setSplit', { ids: many(MAX_IDS), split: 'train' }],
      ['restoreLabels', { groups }],
      ['acceptSuggestions', { runId: Number.MAX_SAFE_INTEGER, minConfidence: 0.5, imageIds: many(MAX_IDS) }],
    ];
    for (const [name, input] of biggest) {
      const bytes = Buffer.byteLength(JSON.stringify({ id: Number.MAX_SAFE_INTEGER, name, input }));
      expect(bytes, name).toBeLessThan(MAX_MESSAGE_BYTES);
      expect(bytes, name).toBeGreaterThan(MAX_MESSAGE_BYTES / 3);
      const r = await rpc(ws, name, input);
      // Through the transport and the schema: the answer is the Studio's, not a closed socket.
      if (!r.ok) expect(r.error.code, `${name}: ${r.error.message}`).toMatch(/^(not_found|bad_input)$/);
    }
    expect(await rpc(ws, 'setLabels', { ids: many(MAX_IDS), classId: null })).toMatchObject({ ok: true, output: { changed: 0 } });
    expect(await rpc(ws, 'setLabels', { ids: many(MAX_IDS + 1), classId: null })).toMatchObject({ ok: false, error: { code: 'bad_request', field: 'ids' } });
    const over = [...groups.slice(1), { classId: null, ids: many(MAX_IDS / MAX_LABEL_GROUPS + 1) }];
    expect(await rpc(ws, 'restoreLabels', { groups: over })).toMatchObject({ ok: false, error: { code: 'bad_request', field: 'groups' } });
    await stillAnswers();
  });
});
