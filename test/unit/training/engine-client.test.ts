/** EngineClient against a fake channel: protocol, crash handling, restart, cancel; HostEngine's error mapping. No TensorFlow.js. */
import { describe, expect, it } from 'vitest';
import { StudioError } from '../../../src/shared/errors';
import { engineErrorToStudio, HostEngine } from '../../../src/main/host/engine';
import { EngineClient, EngineError, type EngineChannel } from '../../../src/main/training/engine-client';
import type { EngineToHost, HostToEngine, TrainJob } from '../../../src/main/engine/protocol';

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
  it('starts lazily, reuses the process, routes events and results by id', async () => {
    const { client, channels } = setup();
    expect(channels).toHaveLength(0);
    const events: unknown[] = [];
    const p1 = client.call('inspectModel', { modelDir: '/m' }, { onEvent: (e) => events.push(e) });
    const p2 = client.call('backend', {});
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
    const p = client.call('backend', {});
    channels[0]?.reply({ kind: 'ready', pid: 4242 });
    expect(client.pid).toBe(4242);
    channels[0]?.die(134, null);
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EngineError);
    expect(err).toMatchObject({ code: 'ENGINE_CRASHED', message: 'The training engine stopped unexpectedly (exit code 134, signal none).' });
    expect(client.pid).toBeNull();
    const p2 = client.call('backend', {});
    expect(channels).toHaveLength(2);
    const id = (channels[1]?.sent[0] as { id: number }).id;
    channels[1]?.reply({ kind: 'result', id, result: { name: 'cpu', simd: false, threads: 1 } });
    await expect(p2).resolves.toMatchObject({ name: 'cpu' });
  });

  it('abort sends a cancel for that call', async () => {
    const { client, channels } = setup();
    const ac = new AbortController();
    const p = client.call('predict', { runDir: '/run', items: [] }, { signal: ac.signal });
    ac.abort();
    const ch = channels[0] as FakeChannel;
    const call = ch.sent[0] as { id: number };
    expect(ch.sent[1]).toEqual({ kind: 'cancel', id: call.id });
    ch.reply({ kind: 'error', id: call.id, error: { code: 'CANCELLED', message: 'Prediction was cancelled.' } });
    await expect(p).rejects.toMatchObject({ code: 'CANCELLED' });
    client.dispose();
  });

  it('a call cancelled before it starts fails at once, except train, whose cancelled run resolves (the table says so)', async () => {
    const { client, channels } = setup();
    const ac = new AbortController();
    ac.abort();
    await expect(client.call('backend', {}, { signal: ac.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(channels).toHaveLength(0);
    const train = client.call('train', { job: {} as TrainJob }, { signal: ac.signal });
    const ch = channels[0] as FakeChannel;
    const call = ch.sent[0] as { id: number; method: string };
    expect(call.method).toBe('train');
    expect(ch.sent[1]).toEqual({ kind: 'cancel', id: call.id });
    ch.reply({ kind: 'result', id: call.id, result: { state: 'cancelled' } });
    await expect(train).resolves.toMatchObject({ state: 'cancelled' });
    client.dispose();
  });
});

describe('HostEngine', () => {
  it('turns engine codes into the contract\'s errors', async () => {
    const cases: [EngineError, string][] = [
      [new EngineError('SHARD_MISSING', 'gone'), 'bad_model'],
      [new EngineError('UNSUPPORTED_TOPOLOGY', 'branches'), 'bad_model'],
      [new EngineError('NOT_A_CUT_POINT', 'no'), 'bad_input'],
      [new EngineError('RUN_NOT_FOUND', 'no run'), 'bad_input'],
      [new EngineError('CANCELLED', 'stop'), 'cancelled'],
      [new EngineError('ENGINE_CRASHED', 'dead'), 'engine_failed'],
      [new EngineError('OUT_OF_MEMORY', 'big'), 'engine_failed'],
    ];
    for (const [err, code] of cases) expect(engineErrorToStudio(err), err.code).toEqual(new StudioError(code as StudioError['code'], err.message));
    // The field the engine named goes with the error (a train plan's refusal).
    expect(engineErrorToStudio(new EngineError('NOT_A_CUT_POINT', 'no', {}, 'config.freezeTo'))).toMatchObject({ code: 'bad_input', field: 'config.freezeTo' });
    const other = new Error('not the engine');
    expect(engineErrorToStudio(other)).toBe(other);

    let channel: FakeChannel | undefined;
    const engine = new HostEngine(() => (channel = new FakeChannel()));
    const p = engine.call('inspectModel', { modelDir: '/m' });
    const id = (channel?.sent[0] as { id: number }).id;
    channel?.reply({ kind: 'error', id, error: { code: 'MODEL_JSON_MISSING', message: 'no model.json' } });
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StudioError);
    expect(err).toMatchObject({ code: 'bad_model', message: 'no model.json' });
    await engine.dispose();
  });
});
