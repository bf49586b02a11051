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
import { MAX_MESSAGE_BYTES, type WireEvent, type WireRequest, type WireResponse } from '../../shared/api';
import { CSP } from './csp';
import { servedFileHeaders } from './served-file';
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

const TEXT = 'text/plain; charset=utf-8';
/** Types of the built renderer's own files; project files are typed by their content (served-file.ts). */
const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};
/** The token cookie's name: one per port, so two studios on this machine never overwrite each other's. */
export const cookieName = (port: number): string => `ts_token_${port}`;

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieValue(req: http.IncomingMessage, name: string): string | undefined {
  // The token is base64url: it is stored and compared as sent, never decoded (a malformed %-escape cannot throw).
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

/** The request target as a URL, or null when it is not one (`http://[`, ...): a 400, never a throw. */
function parseTarget(raw: string | undefined): URL | null {
  try {
    return new URL(raw ?? '/', 'http://127.0.0.1');
  } catch {
    return null;
  }
}

function decodedPath(url: URL): string | null {
  try {
    return decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
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
    const given = url.searchParams.get('token') ?? cookieValue(req, cookieName(port));
    if (!given || !sameToken(given, token))
      return { status: 401, message: 'Missing or wrong token: open the address (with its token) that the studio printed at launch.' };
    return null;
  }

  function send(res: http.ServerResponse, status: number, body: string | Buffer, headers: http.OutgoingHttpHeaders): void {
    if (res.headersSent) return void res.end();
    res.writeHead(status, { 'Referrer-Policy': 'no-referrer', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff', ...headers });
    res.end(body);
  }
  const sendText = (res: http.ServerResponse, status: number, message: string): void =>
    send(res, status, message, { 'Content-Type': TEXT, 'Content-Security-Policy': "default-src 'none'; sandbox" });

  /** A file of the built renderer (the app itself). */
  function serveApp(res: http.ServerResponse, file: string, cookie: string): void {
    fs.readFile(file, (err, data) => {
      if (err) return sendText(res, 404, 'Not found');
      const type = MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
      send(res, 200, data, { 'Content-Type': type, 'Content-Security-Policy': CSP, 'Set-Cookie': cookie });
    });
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = parseTarget(req.url);
    if (!url) return sendText(res, 400, 'Bad request target.');
    const refusal = refuse(req, url, false);
    if (refusal) return sendText(res, refusal.status, refusal.message);
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'Method not allowed');

    const fileMatch = /^\/files\/(thumb|image)\/(\d{1,15})$/.exec(url.pathname);
    if (fileMatch) {
      opts.studio.readProjectFile(fileMatch[1] as 'thumb' | 'image', Number(fileMatch[2])).then(
        (data) => (data ? send(res, 200, data, servedFileHeaders(data)) : sendText(res, 404, 'Not found')),
        () => sendText(res, 404, 'Not found'),
      );
      return;
    }
    // The token arrives once in the address; from then on an HttpOnly cookie of this port carries it.
    const cookie = `${cookieName(port)}=${token}; HttpOnly; SameSite=Strict; Path=/`;
    const decoded = decodedPath(url);
    if (decoded === null) return sendText(res, 400, 'Bad path.');
    const rel = path.normalize(decoded).replace(/^([/\\])+/, '');
    const candidate = path.join(opts.rendererDir, rel);
    if (rel && candidate.startsWith(opts.rendererDir + path.sep) && fs.existsSync(candidate) && fs.statSync(candidate).isFile())
      return serveApp(res, candidate, cookie);
    return serveApp(res, path.join(opts.rendererDir, 'index.html'), cookie);
  }

  const server = http.createServer((req, res) => {
    try {
      handle(req, res);
    } catch {
      // Whatever a request holds, it ends in an answer, never in the end of the server.
      sendText(res, 400, 'Bad request.');
    }
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  server.on('upgrade', (req, socket, head) => {
    // A client that resets mid-handshake must not take the server with it.
    socket.on('error', () => socket.destroy());
    const url = parseTarget(req.url);
    const refusal = !url ? { status: 400, message: 'Bad request target.' } : url.pathname === '/ws' ? refuse(req, url, true) : { status: 404, message: 'Not found' };
    if (refusal) {
      socket.end(`HTTP/1.1 ${refusal.status} Refused\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${refusal.message}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws));
  });

  function attach(ws: WebSocket): void {
    const reply = (msg: WireResponse | WireEvent): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
    };
    const off = opts.studio.onAny((event, payload) => reply({ event, payload }));
    ws.on('close', off);
    // A frame over the size limit or with invalid UTF-8 ends up here, after ws has closed this
    // socket (1009, 1007). Without a listener the error would end the process.
    ws.on('error', () => undefined);
    ws.on('message', (data, isBinary) => {
      let msg: WireRequest;
      try {
        if (isBinary) throw new Error('binary');
        msg = JSON.parse(String(data)) as WireRequest;
        if (typeof msg !== 'object' || msg === null || !Number.isSafeInteger(msg.id)) throw new Error('no id');
      } catch {
        reply({ id: -1, ok: false, error: { code: 'bad_request', message: 'A message must be JSON {id, name, input}.' } });
        return;
      }
      opts.studio.handle(msg.name, msg.input).then(
        (r) => reply(r.ok ? { id: msg.id, ok: true, output: r.output } : { id: msg.id, ok: false, error: r.error }),
        () => reply({ id: msg.id, ok: false, error: { code: 'internal', message: 'The request failed.' } }),
      );
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
