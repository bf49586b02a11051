/** The WebSocket transport's client: the StudioApi over ws://127.0.0.1 (browser mode). */
import { MAX_MESSAGE_BYTES, type EventName, type RequestResult, type WireEvent, type WireResponse } from '../../shared/api';
import type { Transport } from './transport';

/**
 * The token of the address the studio printed, taken out of the address bar (and so out of the
 * history, bookmarks and screen shares) once the page has it; the cookie set with the page carries it from then on.
 */
function takeToken(): string | null {
  const params = new URLSearchParams(location.search);
  const token = params.get('token');
  if (token !== null) {
    params.delete('token');
    const query = params.toString();
    history.replaceState(history.state, '', `${location.pathname}${query ? `?${query}` : ''}${location.hash}`);
  }
  return token;
}

/** UTF-8 length of a string, without encoding it when it is clearly small. */
function byteLength(text: string): number {
  return text.length * 3 <= MAX_MESSAGE_BYTES ? text.length : new TextEncoder().encode(text).length;
}

export function connectWebSocket(): Transport {
  const token = takeToken();
  const url = `ws://${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`;
  const pending = new Map<number, (r: RequestResult) => void>();
  const listeners = new Map<EventName, Set<(p: unknown) => void>>();
  const statusListeners = new Set<(up: boolean) => void>();
  let nextId = 1;
  let socket: WebSocket;
  let opened: Promise<void>;

  const open = (): void => {
    socket = new WebSocket(url);
    opened = new Promise((resolve, reject) => {
      socket.onopen = () => {
        statusListeners.forEach((l) => l(true));
        resolve();
      };
      socket.onerror = () => reject(new Error('The studio is not reachable.'));
    });
    opened.catch(() => undefined);
    socket.onmessage = (ev) => {
      const msg = JSON.parse(String(ev.data)) as WireResponse | WireEvent;
      if ('event' in msg) listeners.get(msg.event)?.forEach((l) => l(msg.payload));
      else pending.get(msg.id)?.(msg.ok ? { ok: true, output: msg.output } : { ok: false, error: msg.error });
      if ('id' in msg) pending.delete(msg.id);
    };
    socket.onclose = () => {
      statusListeners.forEach((l) => l(false));
      for (const [, resolve] of pending) resolve({ ok: false, error: { code: 'internal', message: 'The connection to the studio was lost.' } });
      pending.clear();
      // The host may just be restarting; try again shortly.
      setTimeout(open, 1000);
    };
  };
  open();

  return {
    async request(name, input) {
      await opened;
      const id = nextId++;
      const text = JSON.stringify({ id, name, input });
      // The server closes a socket that sends more than its frame limit: refuse here instead, with a reason.
      if (byteLength(text) > MAX_MESSAGE_BYTES)
        return { ok: false, error: { code: 'bad_request', message: `${name}: the request is too large to send (over ${MAX_MESSAGE_BYTES / 1024 ** 2} MiB).` } };
      return new Promise<RequestResult>((resolve) => {
        pending.set(id, resolve);
        socket.send(text);
      });
    },
    on(event, listener) {
      const set = listeners.get(event) ?? new Set();
      set.add(listener);
      listeners.set(event, set);
      return () => set.delete(listener);
    },
    onStatus(listener) {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },
    fileUrl: (kind, id) => `/files/${kind}/${id}`,
  };
}
