/**
 * The generic Electron IPC transport: one ipcMain.handle channel for every request and one
 * webContents channel for every event. No per-request code lives here.
 */
import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import type { RequestResult, WireEvent } from '../shared/api';
import type { Studio } from './host/studio';
import { mayCallStudio } from './shell-policy';

export const REQUEST_CHANNEL = 'studio:request';
export const EVENT_CHANNEL = 'studio:event';

/**
 * Requests are answered only from the main frame of the app's window showing the app's page at
 * `rendererUrl` (not an iframe, not a page the window was somehow navigated to): shell-policy.ts.
 */
export function connectIpc(studio: Studio, target: () => WebContents | undefined, rendererUrl: string): () => void {
  ipcMain.handle(REQUEST_CHANNEL, (e: IpcMainInvokeEvent, name: unknown, input: unknown): Promise<RequestResult> | RequestResult => {
    if (!mayCallStudio(e, target(), rendererUrl))
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
