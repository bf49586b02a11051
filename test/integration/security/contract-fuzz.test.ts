/**
 * The contract fuzzed through the real WebSocket of a real `transfer-studio serve` process (issue
 * 13): thousands of seeded random and boundary-value requests built from each request's own
 * schema, then broken (wrong types, huge and non-finite numbers, unicode, deep nesting, prototype
 * keys, unknown names). Every one must get an answer with its id: the same verdict as the schema
 * gives locally (bad_request when it fails), a typed error code, and the server alive at the end.
 * The server runs in a temporary folder: a random relative path lands there and nowhere else.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import WebSocket from 'ws';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRequestName, requests, type WireResponse } from '../../../src/shared/api';
import { ERROR_CODES } from '../../../src/shared/errors';
import { Studio } from '../../../src/main/host/studio';
import { seededRandom } from '../../../src/shared/random';
import { connect, jobFinished, removeTempDirs, rpc, serve, tempDir, type Served } from './helpers';

const SEED = 1313;
const ROUNDS_PER_REQUEST = 60;

const random = seededRandom(SEED); // replayable: a failure names its seed
const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
interface Schema {
  type?: string;
  anyOf?: Schema[];
  enum?: Json[];
  const?: Json;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
}

/** Raw JSON put in place of a marker string after stringify: numbers JSON cannot write, nesting too deep to build. */
const RAW: Record<string, string> = {
  '"\u0000RAW:inf"': '1e400',
  '"\u0000RAW:-inf"': '-1e400',
  '"\u0000RAW:-0"': '-0',
  '"\u0000RAW:tiny"': '4.9e-324',
  '"\u0000RAW:deeparr"': '['.repeat(20000) + ']'.repeat(20000),
  '"\u0000RAW:deepobj"': '{"a":'.repeat(5000) + '1' + '}'.repeat(5000),
};
const raw = (key: string): string => `\u0000RAW:${key}`;

const UNICODE = ['é', 'ß', '日本', '🙂', '👨‍👩‍👧', '\u202e', '\u200b', '\ufeff', '\ud800', '\udfff', '\u0000', '\n', '"', '\\', 'Ω', 'a', 'b', '1', '-', '_', ' '];
function text(min = 0, max = 12): string {
  let s = '';
  const n = int(min, Math.min(max, min + 12));
  while ([...s].length < n) s += random() < 0.6 ? String.fromCharCode(int(97, 122)) : pick(UNICODE);
  // Relative, never a way out: whatever the studio does with it stays in the server's folder.
  return s.replace(/^[/~]+/, 'x').replace(/\.\./g, '__');
}

/** A value the schema accepts (mostly), boundary values included. */
function valid(s: Schema, depth = 0): Json {
  if (s.anyOf) return valid(pick(s.anyOf), depth);
  if (s.const !== undefined) return s.const;
  if (s.enum) return pick(s.enum);
  switch (s.type) {
    case 'object': {
      const out: Record<string, Json> = {};
      for (const [k, v] of Object.entries(s.properties ?? {})) if (s.required?.includes(k) || random() < 0.5) out[k] = valid(v, depth + 1);
      return out;
    }
    case 'array': {
      const lo = s.minItems ?? 0;
      const n = random() < 0.05 && (s.maxItems ?? 0) <= 2000 ? (s.maxItems ?? lo) : int(lo, Math.min(s.maxItems ?? 5, lo + 5));
      return Array.from({ length: n }, () => valid(s.items ?? {}, depth + 1));
    }
    case 'integer':
    case 'number': {
      const lo = s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + (s.type === 'integer' ? 1 : 1e-9) : (s.minimum ?? -1e6);
      const hi = s.maximum ?? 1e6;
      const r = random();
      if (r < 0.15) return lo;
      if (r < 0.3) return hi;
      return s.type === 'integer' ? int(Math.max(lo, -1e6), Math.min(hi, 1e6)) : lo + random() * Math.min(hi - lo, 1e6);
    }
    case 'string': {
      if (s.pattern?.includes('#')) return `#${int(0, 0xffffff).toString(16).padStart(6, '0')}`;
      if (s.pattern) return `m${int(0, 999)}`;
      const r = random();
      if (r < 0.05 && (s.maxLength ?? 0) > 0) return 'w'.repeat(s.maxLength!); // the longest allowed
      return text(Math.max(s.minLength ?? 0, 1), s.maxLength ?? 12);
    }
    case 'boolean':
      return random() < 0.5;
    case 'null':
      return null;
    default:
      return pick([null, 1, 'x', true, [], {}]);
  }
}

/** Something hostile for one spot: wrong types, extreme numbers, odd text, deep nesting, prototype keys. */
function hostile(): Json {
  return pick<() => Json>([
    () => pick<Json>([null, true, false, 0, -1, 1.5, '', ' ', '0', 'null', [], {}, [null], { '': null }]),
    () => pick([2 ** 53, 2 ** 53 + 2, -(2 ** 53), Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 1e21, 0.1 + 0.2]),
    () => raw(pick(['inf', '-inf', '-0', 'tiny'])),
    () => raw(pick(['deeparr', 'deepobj'])),
    () => text(0, 40),
    () => 'z'.repeat(int(5000, 200_000)),
    () => ({ __proto__: { polluted: 1 } }) as unknown as Json,
    () => JSON.parse('{"__proto__": {"polluted": 1}, "constructor": {"prototype": {"polluted": 1}}}') as Json,
    () => Array.from({ length: int(1, 3000) }, () => int(-5, 2 ** 31)),
  ])();
}

/** `value` with one spot (chosen at random, at any depth) replaced by something hostile, or a key added. */
function mutate(value: Json): Json {
  if (value === null || typeof value !== 'object' || random() < 0.25) return hostile();
  if (Array.isArray(value)) {
    if (value.length === 0) return [hostile()];
    const copy = [...value];
    const i = int(0, copy.length - 1);
    copy[i] = mutate(copy[i]!);
    return copy;
  }
  const copy: Record<string, Json> = { ...value };
  const keys = Object.keys(copy);
  if (keys.length === 0 || random() < 0.2) {
    // An extra key, sometimes one with a name that means something to JavaScript objects.
    Object.defineProperty(copy, pick(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'extra', '']), { value: hostile(), enumerable: true, writable: true, configurable: true });
    return copy;
  }
  if (random() < 0.15) {
    delete copy[pick(keys)];
    return copy;
  }
  const k = pick(keys);
  copy[k] = mutate(copy[k]!);
  return copy;
}

function message(id: number, name: unknown, input: unknown): string {
  let s = JSON.stringify({ id, name, input });
  for (const [marker, replacement] of Object.entries(RAW)) s = s.split(marker.replace('\u0000', '\\u0000')).join(replacement);
  return s;
}

let server: Served;
let ws: WebSocket;
let home: string;

beforeAll(async () => {
  home = tempDir('ts-fuzz-');
  const src = path.join(home, 'src');
  for (const [cls, colour] of [['cat', '#c04020'], ['dog', '#2040c0']] as const)
    for (let i = 0; i < 3; i++) {
      fs.mkdirSync(path.join(src, cls), { recursive: true });
      await sharp({ create: { width: 8 + i, height: 8, channels: 3, background: colour } }).png().toFile(path.join(src, cls, `${i}.png`));
    }
  server = await serve(home, undefined, { cwd: home });
  ws = await connect(server.port, server.token);
  expect(await rpc(ws, 'createProject', { dir: path.join(home, 'project') })).toMatchObject({ ok: true });
  const job = await rpc(ws, 'importImages', { source: src });
  await jobFinished(ws, (job as { output: { id: string } }).output.id);
});

afterAll(async () => {
  ws?.close();
  await server?.stop();
  removeTempDirs();
});

describe('contract fuzz over the WebSocket', () => {
  it(`answers ${Object.keys(requests).length * ROUNDS_PER_REQUEST}+ random and hostile requests, each with its id and the schema's verdict`, async () => {
    const schemas = Object.fromEntries(
      Object.entries(requests).map(([name, def]) => [name, z.toJSONSchema(def.input, { io: 'input', unrepresentable: 'any' }) as Schema]),
    );
    const cases: { text: string; name: unknown; id: number }[] = [];
    let id = 1;
    // Requests that close or switch the project go last, so the others meet an open project.
    const last = ['closeProject', 'createProject', 'openProject'];
    const names = Object.keys(requests).sort((a, b) => Number(last.includes(a)) - Number(last.includes(b)));
    for (const name of names) {
      for (let round = 0; round < ROUNDS_PER_REQUEST; round++) {
        const good = valid(schemas[name]!);
        const input = round % 3 === 0 ? good : mutate(good);
        cases.push({ text: message(id, name, input), name, id: id++ });
      }
    }
    // Names that are not requests, some of them names every object has, and inputs that are not objects.
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'handle', 'dispose', 'store', '', 'APPINFO', null, 42, ['appInfo'], { name: 'appInfo' }])
      for (const input of [{}, null, 'x', [], 7, JSON.parse('{"__proto__":{"polluted":1}}') as Json]) cases.push({ text: message(id, name, input), name, id: id++ });

    const answers = new Map<number, WireResponse>();
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as WireResponse;
      if ('id' in m) answers.set(m.id, m);
    });
    for (let i = 0; i < cases.length; i += 200) {
      const batch = cases.slice(i, i + 200);
      for (const c of batch) ws.send(c.text);
      await expect.poll(() => batch.every((c) => answers.has(c.id)), { timeout: 60_000, interval: 20 }).toBe(true);
    }

    const counts: Record<string, number> = {};
    for (const c of cases) {
      const a = answers.get(c.id)!;
      const where = `${c.text.slice(0, 300)} -> ${JSON.stringify(a).slice(0, 300)}`;
      const code = a.ok ? 'ok' : a.error.code;
      counts[code] = (counts[code] ?? 0) + 1;
      if (!a.ok) {
        expect(ERROR_CODES, where).toContain(a.error.code);
        expect(typeof a.error.message === 'string' && a.error.message.length > 0, where).toBe(true);
        expect(a.error.code, where).not.toBe('internal');
      }
      if (!isRequestName(c.name)) {
        expect(code, where).toBe('unknown_request');
        continue;
      }
      const sent = (JSON.parse(c.text) as { input: unknown }).input;
      const local = requests[c.name].input.safeParse(sent ?? {});
      if (!local.success) expect(code, where).toBe('bad_request');
    }
    // The fuzz reached the handlers, not only the schemas.
    console.log(`contract fuzz (seed ${SEED}): ${cases.length} requests, answers by code ${JSON.stringify(counts)}`);
    expect(counts.ok).toBeGreaterThan(100);
    expect(counts.bad_request).toBeGreaterThan(1000);

    expect(server.proc.exitCode).toBeNull();
    expect(await rpc(ws, 'appInfo', {})).toMatchObject({ ok: true });
  });

  it('prototype keys in a request change nothing of the host objects (in process)', async () => {
    const studio = new Studio({ userDataDir: path.join(home, 'in-process'), mode: 'test' });
    try {
      for (const name of Object.keys(requests)) {
        const r = await studio.handle(name, JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}'));
        expect(r.ok, name).toBe(false);
      }
      expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('polluted');
    } finally {
      await studio.dispose();
    }
  });
});
