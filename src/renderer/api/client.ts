/**
 * The renderer's StudioApi: window.studio (the Electron preload's IPC bridge) when present,
 * otherwise the WebSocket client of browser mode. Errors come back as StudioError.
 */
import type { EventName, RequestInput, RequestName, RequestOutput, StudioApi, StudioEvents } from '../../shared/api';
import { StudioError } from '../../shared/errors';
import type { Transport } from './transport';
import { connectWebSocket } from './ws-client';

declare global {
  interface Window {
    studio?: Pick<Transport, 'request' | 'on'> & {
      /** Electron only: the file system path of a dropped File (webUtils.getPathForFile). */
      pathForFile?: (file: File) => string;
    };
  }
}

function pickTransport(): Transport {
  const ipc = window.studio;
  if (ipc) return { request: ipc.request, on: ipc.on, fileUrl: (kind, id) => `studio-file://${kind}/${id}` };
  return connectWebSocket();
}

export const transport: Transport = pickTransport();

export const api: StudioApi = {
  async call<K extends RequestName>(name: K, input: RequestInput<K>): Promise<RequestOutput<K>> {
    const r = await transport.request(name, input);
    if (!r.ok) throw new StudioError(r.error.code, r.error.message, r.error.field);
    return r.output as RequestOutput<K>;
  },
  on<E extends EventName>(event: E, listener: (payload: StudioEvents[E]) => void): () => void {
    return transport.on(event, listener as (p: unknown) => void);
  },
};

export const fileUrl = transport.fileUrl;
