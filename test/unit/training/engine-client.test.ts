/** EngineClient against a fake channel: protocol, crash handling, restart, cancel. No TensorFlow.js. */
import { describe, expect, it } from 'vitest';
import { EngineClient, EngineError, type EngineChannel } from '../../../src/main/training/engine-client';
import type { EngineToHost, HostToEngine } from '../../../src/main/training/protocol';
import type { TrainingEngine } from '../../../src/main/training/training-service';

class FakeChannel implements EngineChannel {
  sent: HostToEngine[] = [];
  private msg: ((m: EngineToHost) => void)[] = [];
  private exit: ((c: number | null, s: string | null) => void)[] = [];
  send(m: HostToEngine) {
    this.sent.push(m);
  }
  onMessage(cb: (m: EngineToHost) => void) {
    this.msg.push(cb);
  }
  onExit(cb: (c: number | null, s: string | null) => void) {
    this.exit.push(cb);
  }
  kill() {
    this.die(null, 'SIGKILL');
  }
  reply(m: EngineToHost) {
    for (const cb of this.msg) cb(m);
  }
  die(code: number | null, signal: string | null) {
    for (const cb of this.exit) cb(code, signal);
  }
}

function setup() {
  const channels: FakeChannel[] = [];
  const client = new EngineClient(() => {
    const c = new FakeChannel();
    channels.push(c);
    return c;
  });
  return { client, channels };
}

describe('EngineClient', () => {
  it('is what the training service needs', () => {
    const { client } = setup();
    const engine: TrainingEngine = client;
    expect(typeof engine.train).toBe('function');
  });

  it('starts lazily, reuses the process, routes events and results by id', async () => {
    const { client, channels } = setup();
    expect(channels).toHaveLength(0);
    const events: unknown[] = [];
    const p1 = client.inspectModel('/m', { onEvent: (e) => events.push(e) });
    const p2 = client.backend();
    expect(channels).toHaveLength(1);
    const [c1, c2] = channels[0]?.sent ?? [];
    expect(c1).toMatchObject({ kind: 'call', method: 'inspectModel', params: { modelDir: '/m' } });
    const ch = channels[0] as FakeChannel;
    ch.reply({ kind: 'event', id: (c1 as { id: number }).id, event: { type: 'log', message: 'hi' } });
    ch.reply({ kind: 'result', id: (c2 as { id: number }).id, result: { name: 'wasm', simd: true, threads: 2 } });
    ch.reply({ kind: 'error', id: (c1 as { id: number }).id, error: { code: 'SHARD_MISSING', message: 'gone' } });
    await expect(p2).resolves.toEqual({ name: 'wasm', simd: true, threads: 2 });
    await expect(p1).rejects.toMatchObject({ code: 'SHARD_MISSING', message: 'gone' });
    expect(events).toEqual([{ type: 'log', message: 'hi' }]);
  });

  it('a crash fails calls in flight with a clear message and the next call starts a new process', async () => {
    const { client, channels } = setup();
    const p = client.backend();
    channels[0]?.die(134, null);
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect(err).toMatchObject({ code: 'ENGINE_CRASHED', message: 'The training engine stopped unexpectedly (exit code 134, signal none).' });
    const p2 = client.backend();
    expect(channels).toHaveLength(2);
    const id = (channels[1]?.sent[0] as { id: number }).id;
    channels[1]?.reply({ kind: 'result', id, result: { name: 'cpu', simd: false, threads: 1 } });
    await expect(p2).resolves.toMatchObject({ name: 'cpu' });
  });

  it('abort sends a cancel for that call', async () => {
    const { client, channels } = setup();
    const ac = new AbortController();
    const p = client.predict('/run', [], { signal: ac.signal });
    ac.abort();
    const ch = channels[0] as FakeChannel;
    const call = ch.sent[0] as { id: number };
    expect(ch.sent[1]).toEqual({ kind: 'cancel', id: call.id });
    ch.reply({ kind: 'error', id: call.id, error: { code: 'CANCELLED', message: 'Prediction was cancelled.' } });
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
    client.dispose();
  });
});
