/** The WebSocket transport's client: the StudioApi over ws://127.0.0.1 (browser mode). */
import type { EventName, RequestResult, WireEvent, WireResponse } from '../../shared/api';
import type { Transport } from './transport';

export function connectWebSocket(): Transport {
  const token = new URLSearchParams(location.search).get('token');
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
      return new Promise<RequestResult>((resolve) => {
        pending.set(id, resolve);
        socket.send(JSON.stringify({ id, name, input }));
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
