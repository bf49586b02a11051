/**
 * Browser mode: the generic HTTP + WebSocket transport. Binds 127.0.0.1 only, requires the
 * per-launch token on every request and socket (query `token` once, then an HttpOnly cookie),
 * checks Host and Origin, serves the built renderer and the project's files. It forwards
 * requests to Studio.handle and events back, and has no per-request code.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { WireEvent, WireRequest, WireResponse } from '../../shared/api';
import type { Studio } from './studio';

export interface ServerOptions {
  studio: Studio;
  /** The built renderer (out/renderer). */
  rendererDir: string;
  port?: number;
  token?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const COOKIE = 'ts_token';
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.bmp': 'image/bmp',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};
/** The same policy as the Electron window: nothing remote, scripts only from the app itself. */
export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' ws://127.0.0.1:* ws://localhost:*; font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieToken(req: http.IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === COOKIE && v) return decodeURIComponent(v);
  }
  return undefined;
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  let port = 0;
  const allowedHosts = (): string[] => [`127.0.0.1:${port}`, `localhost:${port}`];
  const allowedOrigins = (): string[] => allowedHosts().map((h) => `http://${h}`);

  /** Returns a refusal reason, or null when the request may proceed. */
  function refuse(req: http.IncomingMessage, url: URL, needOrigin: boolean): { status: number; message: string } | null {
    if (!allowedHosts().includes(req.headers.host ?? '')) return { status: 403, message: 'Wrong Host header.' };
    const origin = req.headers.origin;
    if ((needOrigin || origin !== undefined) && !allowedOrigins().includes(origin ?? ''))
      return { status: 403, message: `Origin ${origin ?? '(none)'} is not allowed.` };
    const given = url.searchParams.get('token') ?? cookieToken(req);
    if (!given || !sameToken(given, token))
      return { status: 401, message: 'Missing or wrong token: open the address (with its token) that the studio printed at launch.' };
    return null;
  }

  function send(res: http.ServerResponse, status: number, body: string | Buffer, type: string, extra: http.OutgoingHttpHeaders = {}): void {
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Security-Policy': CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
      ...extra,
    });
    res.end(body);
  }

  function serveFile(res: http.ServerResponse, file: string, extra: http.OutgoingHttpHeaders = {}): void {
    fs.readFile(file, (err, data) => {
      if (err) return send(res, 404, 'Not found', 'text/plain; charset=utf-8');
      send(res, 200, data, MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream', extra);
    });
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const refusal = refuse(req, url, false);
    if (refusal) return send(res, refusal.status, refusal.message, 'text/plain; charset=utf-8');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method not allowed', 'text/plain; charset=utf-8');

    const fileMatch = /^\/files\/(thumb|image)\/(\d+)$/.exec(url.pathname);
    if (fileMatch) {
      opts.studio.resolveFile(fileMatch[1] as 'thumb' | 'image', Number(fileMatch[2])).then(
        (file) => (file ? serveFile(res, file, { 'Cache-Control': 'private, max-age=3600' }) : send(res, 404, 'Not found', 'text/plain; charset=utf-8')),
        () => send(res, 404, 'Not found', 'text/plain; charset=utf-8'),
      );
      return;
    }
    // The token arrives once in the address; from then on an HttpOnly cookie carries it.
    const cookie = `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;
    const rel = path.normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, '');
    const candidate = path.join(opts.rendererDir, rel);
    if (rel && candidate.startsWith(opts.rendererDir + path.sep) && fs.existsSync(candidate) && fs.statSync(candidate).isFile())
      return serveFile(res, candidate, { 'Set-Cookie': cookie });
    return serveFile(res, path.join(opts.rendererDir, 'index.html'), { 'Set-Cookie': cookie });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const refusal = url.pathname === '/ws' ? refuse(req, url, true) : { status: 404, message: 'Not found' };
    if (refusal) {
      socket.end(`HTTP/1.1 ${refusal.status} Refused\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${refusal.message}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws));
  });

  function attach(ws: WebSocket): void {
    const off = opts.studio.onAny((event, payload) => {
      const msg: WireEvent = { event, payload };
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
    });
    ws.on('close', off);
    ws.on('message', async (data) => {
      let msg: WireRequest;
      try {
        msg = JSON.parse(String(data)) as WireRequest;
        if (typeof msg !== 'object' || msg === null || typeof msg.id !== 'number') throw new Error('no id');
      } catch {
        const bad: WireResponse = { id: -1, ok: false, error: { code: 'bad_request', message: 'A message must be JSON {id, name, input}.' } };
        ws.send(JSON.stringify(bad));
        return;
      }
      const r = await opts.studio.handle(msg.name, msg.input);
      const out: WireResponse = r.ok ? { id: msg.id, ok: true, output: r.output } : { id: msg.id, ok: false, error: r.error };
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(out));
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
