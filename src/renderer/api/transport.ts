/** What the renderer needs from a transport; IPC (window.studio) and WebSocket both provide it. */
import type { EventName, RequestResult } from '../../shared/api';

export interface Transport {
  request(name: string, input: unknown): Promise<RequestResult>;
  on(event: EventName, listener: (payload: unknown) => void): () => void;
  /** Connection up/down (browser mode); IPC is always up. */
  onStatus?(listener: (up: boolean) => void): () => void;
  fileUrl(kind: 'thumb' | 'image', id: number): string;
}
