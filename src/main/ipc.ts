/**
 * The generic Electron IPC transport: one ipcMain.handle channel for every request and one
 * webContents channel for every event. No per-request code lives here.
 */
import { ipcMain, type WebContents } from 'electron';
import type { WireEvent } from '../shared/api';
import type { Studio } from './host/studio';

export const REQUEST_CHANNEL = 'studio:request';
export const EVENT_CHANNEL = 'studio:event';

export function connectIpc(studio: Studio, target: () => WebContents | undefined): () => void {
  ipcMain.handle(REQUEST_CHANNEL, (_e, name: unknown, input: unknown) => studio.handle(name, input));
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
