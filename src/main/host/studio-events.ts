/** The Studio's events: what transports subscribe to (one event, or every one) and what the Studio emits. */
import { EventEmitter } from 'node:events';
import { EVENT_NAMES, type EventName, type StoreTopic, type StudioEvents } from '../../shared/api';

export class StudioEventHub {
  private readonly emitter = new EventEmitter();

  on<E extends EventName>(event: E, listener: (payload: StudioEvents[E]) => void): () => void {
    this.emitter.on(event, listener);
    return () => this.emitter.off(event, listener);
  }

  /** Every event, for transports that forward all of them. */
  onAny(listener: (event: EventName, payload: unknown) => void): () => void {
    const fns = EVENT_NAMES.map((e) => {
      const fn = (p: unknown): void => listener(e, p);
      this.emitter.on(e, fn);
      return [e, fn] as const;
    });
    return () => fns.forEach(([e, fn]) => this.emitter.off(e, fn));
  }

  emit<E extends EventName>(event: E, payload: StudioEvents[E]): void {
    this.emitter.emit(event, payload);
  }

  /** Tells the views which parts of the store to read again. */
  changed(...topics: StoreTopic[]): void {
    this.emit('store.changed', { topics });
  }
}
