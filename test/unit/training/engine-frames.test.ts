/**
 * The engine's frames on a byte stream (stdin/stdout over ssh): messages arrive as they were sent
 * (typed arrays, Buffers, NaN, -0, nested), however the stream cuts them, and a frame that is too
 * large or out of step is refused rather than buffered without end.
 */
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameReader, MAX_FRAME_BYTES } from '../../../src/shared/node/frames';

describe('engine frames', () => {
  const message = {
    kind: 'result',
    id: 7,
    result: {
      probabilities: new Float32Array([0.25, Number.NaN, 1e-30]),
      fold: new Int32Array([-1, 2, 3]),
      bytes: Buffer.from('binary\0data'),
      view: new Uint8Array([9, 8, 7, 6]).subarray(1, 3),
      numbers: [Number.NaN, Infinity, -Infinity, -0, 1.5],
      text: 'héllo',
      nested: [{ a: new Float64Array([Math.PI]) }],
    },
  };

  it('round-trips typed arrays, Buffers and numbers JSON cannot hold', () => {
    const [out] = new FrameReader().push(encodeFrame(message)) as [typeof message];
    expect(out.result.probabilities).toBeInstanceOf(Float32Array);
    expect(Array.from(out.result.probabilities)).toEqual(Array.from(message.result.probabilities));
    expect(Array.from(out.result.fold)).toEqual([-1, 2, 3]);
    expect(Buffer.from(out.result.bytes).toString()).toBe('binary\0data');
    expect(Array.from(out.result.view)).toEqual([8, 7]);
    expect(out.result.numbers[0]).toBeNaN();
    expect(out.result.numbers.slice(1, 3)).toEqual([Infinity, -Infinity]);
    expect(Object.is(out.result.numbers[3], -0)).toBe(true);
    expect(out.result.text).toBe('héllo');
    expect(out.result.nested[0]!.a[0]).toBe(Math.PI);
  });

  it('reads frames however the stream cuts them, several per chunk or one byte at a time', () => {
    const bytes = Buffer.concat([encodeFrame(message), encodeFrame({ kind: 'ready', pid: 1 }), encodeFrame(message)]);
    const oneByOne = new FrameReader();
    const got: unknown[] = [];
    for (let i = 0; i < bytes.length; i++) got.push(...oneByOne.push(bytes.subarray(i, i + 1)));
    expect(got).toHaveLength(3);
    expect(got[1]).toEqual({ kind: 'ready', pid: 1 });
    expect(new FrameReader().push(bytes)).toHaveLength(3);
  });

  it('refuses a frame larger than the limit, and bytes that are not frames', () => {
    const huge = Buffer.alloc(8);
    huge.writeUInt32BE(MAX_FRAME_BYTES + 1, 0);
    expect(() => new FrameReader().push(huge)).toThrow(/outside the 4\.\.\d+ allowed/);
    // A stray log line on stdout: its first four bytes read as an absurd length.
    expect(() => new FrameReader().push(Buffer.from('Hi there, TensorFlow.js here\n'))).toThrow(/is something else writing to the engine's stdout/);
    expect(() => encodeFrame({ bytes: new Uint8Array(MAX_FRAME_BYTES) })).toThrow(/larger than the \d+ allowed/);
  });
});
