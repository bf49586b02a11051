/**
 * Exposes window.studio: a typed StudioApi client over IPC. Channel names are duplicated from
 * src/main/ipc.ts on purpose: a sandboxed preload cannot import main-process modules.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { EventName, RequestResult, WireEvent } from '../shared/api';

const REQUEST_CHANNEL = 'studio:request';
const EVENT_CHANNEL = 'studio:event';

type Listener = (payload: unknown) => void;
const listeners = new Map<EventName, Set<Listener>>();
ipcRenderer.on(EVENT_CHANNEL, (_e: IpcRendererEvent, msg: WireEvent) => {
  for (const l of listeners.get(msg.event) ?? []) l(msg.payload);
});

/**
 * Plain objects only cross the bridge (an Error would lose its code), so requests resolve to
 * {ok, output | error}; renderer/api wraps this into the same StudioApi as the WebSocket client.
 */
const bridge = {
  request: (name: string, input: unknown): Promise<RequestResult> => ipcRenderer.invoke(REQUEST_CHANNEL, name, input),
  on(event: EventName, listener: Listener): () => void {
    const set = listeners.get(event) ?? new Set<Listener>();
    set.add(listener);
    listeners.set(event, set);
    return () => set.delete(listener);
  },
  /** The path of a file dropped onto the window (File.path no longer exists in Electron). */
  pathForFile: (file: File): string => webUtils.getPathForFile(file),
};
export type StudioBridge = typeof bridge;

contextBridge.exposeInMainWorld('studio', bridge);
