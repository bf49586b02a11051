/**
 * The generic Electron IPC transport: one ipcMain.handle channel for every request and one
 * webContents channel for every event. No per-request code lives here.
 */
import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import type { RequestResult, WireEvent } from '../shared/api';
import type { Studio } from './host/studio';

export const REQUEST_CHANNEL = 'studio:request';
export const EVENT_CHANNEL = 'studio:event';

/**
 * `isAppPage(url)` says whether a frame's address is the app's own page: a request is answered
 * only from the main frame of the app's window at that address (not an iframe, not a page the
 * window was somehow navigated to).
 */
export function connectIpc(studio: Studio, target: () => WebContents | undefined, isAppPage: (url: string) => boolean): () => void {
  ipcMain.handle(REQUEST_CHANNEL, (e: IpcMainInvokeEvent, name: unknown, input: unknown): Promise<RequestResult> | RequestResult => {
    const frame = e.senderFrame;
    if (e.sender !== target() || !frame || frame.parent !== null || !isAppPage(frame.url))
      return { ok: false, error: { code: 'unauthorized', message: 'Requests are answered only from the studio window.' } };
    return studio.handle(name, input);
  });
  const off = studio.onAny((event, payload) => {
    const wc = target();
    const msg: WireEvent = { event, payload };
    if (wc && !wc.isDestroyed()) wc.send(EVENT_CHANNEL, msg);
  });
  return () => {
    off();
    ipcMain.removeHandler(REQUEST_CHANNEL);
  };
}
