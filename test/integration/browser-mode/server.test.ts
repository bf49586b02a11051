import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Studio } from '../../../src/main/host/studio';
import { startServer, type RunningServer } from '../../../src/main/host/server';
import type { WireEvent, WireResponse } from '../../../src/shared/api';

let studio: Studio;
let server: RunningServer;
let tmp: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ts-server-'));
  const renderer = path.join(tmp, 'renderer');
  fs.mkdirSync(renderer);
  fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>studio</title>');
  studio = new Studio({ userDataDir: path.join(tmp, 'home'), mode: 'test' });
  server = await startServer({ studio, rendererDir: renderer });
});
afterAll(async () => {
  await server.close();
  await studio.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function get(p: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: server.port, path: p, headers }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += String(d)));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

function socket(opts: { token?: string; origin?: string }): Promise<WebSocket> {
  const q = opts.token === undefined ? '' : `?token=${opts.token}`;
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/ws${q}`, opts.origin === undefined ? {} : { origin: opts.origin });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`refused ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function rpc(ws: WebSocket, id: number, name: string, input: unknown): Promise<WireResponse> {
  return new Promise((resolve) => {
    const on = (data: WebSocket.RawData): void => {
      const msg = JSON.parse(String(data)) as WireResponse | WireEvent;
      if ('id' in msg && msg.id === id) {
        ws.off('message', on);
        resolve(msg);
      }
    };
    ws.on('message', on);
    ws.send(typeof input === 'string' && name === '' ? input : JSON.stringify({ id, name, input }));
  });
}

describe('browser-mode server', () => {
  it('listens on 127.0.0.1 only', () => {
    expect(server.url.startsWith(`http://127.0.0.1:${server.port}/`)).toBe(true);
  });

  it('refuses a request without the token, and sets the cookie once the token is given', async () => {
    const none = await get('/');
    expect(none.status).toBe(401);
    expect(none.body).toMatch(/token/);
    const ok = await get(`/?token=${server.token}`);
    expect(ok.status).toBe(200);
    expect(ok.headers['content-security-policy']).toMatch(/default-src 'self'/);
    const cookie = String(ok.headers['set-cookie']).split(';')[0]!;
    expect((await get('/assets/whatever.js', { cookie })).status).toBe(200);
    expect((await get('/', { cookie: 'ts_token=wrong' })).status).toBe(401);
  });

  it('checks Host and Origin', async () => {
    expect((await get(`/?token=${server.token}`, { host: `evil.example:${server.port}` })).status).toBe(403);
    expect((await get(`/?token=${server.token}`, { origin: 'http://evil.example' })).status).toBe(403);
  });

  it('refuses sockets without the token or from another origin', async () => {
    const origin = `http://127.0.0.1:${server.port}`;
    await expect(socket({ origin })).rejects.toThrow(/401/);
    await expect(socket({ token: server.token, origin: 'http://evil.example' })).rejects.toThrow(/403/);
    await expect(socket({ token: server.token })).rejects.toThrow(/403/); // no Origin at all
  });

  it('answers bad requests with typed errors and keeps working', async () => {
    const ws = await socket({ token: server.token, origin: `http://127.0.0.1:${server.port}` });
    const garbage = await rpc(ws, -1, '', 'not json');
    expect(garbage).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(await rpc(ws, 1, 'dropTables', {})).toMatchObject({ ok: false, error: { code: 'unknown_request' } });
    expect(await rpc(ws, 2, 'createProject', { dir: 42 })).toMatchObject({ ok: false, error: { code: 'bad_request', field: 'dir' } });
    expect(await rpc(ws, 3, 'listClasses', {})).toMatchObject({ ok: false, error: { code: 'no_project' } });
    const created = await rpc(ws, 4, 'createProject', { dir: path.join(tmp, 'p1'), name: 'P1' });
    expect(created).toMatchObject({ ok: true, output: { name: 'P1' } });
    expect(await rpc(ws, 5, 'addClass', { name: 'cat', color: 'blue' })).toMatchObject({ ok: false, error: { code: 'bad_request', field: 'color' } });
    expect(await rpc(ws, 6, 'addClass', { name: 'cat' })).toMatchObject({ ok: true, output: { name: 'cat' } });
    ws.close();
  });

  it('streams store and job events to the socket', async () => {
    const ws = await socket({ token: server.token, origin: `http://127.0.0.1:${server.port}` });
    const events: WireEvent[] = [];
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as WireEvent;
      if ('event' in m) events.push(m);
    });
    await rpc(ws, 10, 'addClass', { name: 'dog' });
    const job = await rpc(ws, 11, 'checkProject', {});
    expect(job.ok).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(events.some((e) => e.event === 'store.changed')).toBe(true);
    const finished = events.find((e) => e.event === 'job.finished');
    expect(finished?.payload).toMatchObject({ kind: 'check', state: 'succeeded', result: { integrity: 'ok', images: 0, missingFiles: 0 } });
    ws.close();
  });
});
