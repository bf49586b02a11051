/**
 * Engine messages as binary frames on a byte stream (the engine over stdin/stdout, e.g. through
 * ssh). A frame is: u32 length of the rest | u32 length of the JSON header | the JSON header (UTF-8)
 * | the binary payload. Typed arrays and Buffers travel as payload bytes (the JSON names their slot),
 * and numbers JSON cannot hold (NaN, +-Infinity, -0) as tagged values, so a message arrives as the
 * forked child's structured clone would deliver it. Node-only; imported by the host and the engine.
 */

/** The largest frame either side accepts (an image batch or a file chunk is far below it). */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

type Binary = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;
const BINARY_TYPES = { Uint8Array, Int8Array, Uint16Array, Int16Array, Uint32Array, Int32Array, Float32Array, Float64Array } as const;
type BinaryType = keyof typeof BINARY_TYPES;

interface BinaryTag {
  $bin: BinaryType;
  offset: number;
  length: number;
}
interface NumberTag {
  $num: 'NaN' | 'Infinity' | '-Infinity' | '-0';
}

function binaryType(v: object): BinaryType | null {
  if (Buffer.isBuffer(v)) return 'Uint8Array';
  for (const name of Object.keys(BINARY_TYPES) as BinaryType[]) if (v instanceof BINARY_TYPES[name]) return name;
  return null;
}

function numberTag(n: number): NumberTag | null {
  if (Number.isNaN(n)) return { $num: 'NaN' };
  if (n === Infinity) return { $num: 'Infinity' };
  if (n === -Infinity) return { $num: '-Infinity' };
  if (Object.is(n, -0)) return { $num: '-0' };
  return null;
}

/** One message as a frame; throws when it would exceed MAX_FRAME_BYTES. */
export function encodeFrame(message: unknown): Buffer {
  const parts: Buffer[] = [];
  let payloadBytes = 0;
  const json = JSON.stringify(message, function (this: Record<string, unknown>, key, replaced: unknown) {
    // The value before toJSON (a Buffer would otherwise arrive here as { type, data }).
    const value = key === '' ? replaced : this[key];
    if (typeof value === 'number') return numberTag(value) ?? value;
    if (value && typeof value === 'object' && ArrayBuffer.isView(value)) {
      const type = binaryType(value);
      if (!type) return value;
      const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
      // Aligned for the widest element type, so the receiver can view the bytes without copying.
      const pad = (8 - (payloadBytes % 8)) % 8;
      if (pad) parts.push(Buffer.alloc(pad));
      const tag: BinaryTag = { $bin: type, offset: payloadBytes + pad, length: (value as Binary).length };
      parts.push(bytes);
      payloadBytes += pad + bytes.length;
      return tag;
    }
    return replaced;
  });
  const header = Buffer.from(json ?? 'null', 'utf8');
  const total = 4 + header.length + payloadBytes;
  if (total > MAX_FRAME_BYTES) throw new Error(`An engine message of ${total} bytes is larger than the ${MAX_FRAME_BYTES} allowed.`);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(total, 0);
  head.writeUInt32BE(header.length, 4);
  return Buffer.concat([head, header, ...parts]);
}

function decodeBody(body: Buffer): unknown {
  const headerLength = body.readUInt32BE(0);
  if (headerLength > body.length - 4) throw new Error('An engine frame says its header is longer than the frame.');
  const payload = body.subarray(4 + headerLength);
  return JSON.parse(body.toString('utf8', 4, 4 + headerLength), (_key, value: unknown) => {
    if (!value || typeof value !== 'object') return value;
    if ('$num' in value) return Number((value as NumberTag).$num);
    if ('$bin' in value) {
      const tag = value as BinaryTag;
      const Type = BINARY_TYPES[tag.$bin];
      if (!Type) throw new Error(`An engine frame names an unknown array type ${JSON.stringify(tag.$bin)}.`);
      const end = tag.offset + tag.length * Type.BYTES_PER_ELEMENT;
      if (!Number.isInteger(tag.offset) || tag.offset < 0 || end > payload.length) throw new Error('An engine frame points outside its payload.');
      // A copy: the array outlives the frame and must own aligned memory.
      const copy = new Uint8Array(end - tag.offset);
      copy.set(payload.subarray(tag.offset, end));
      return new Type(copy.buffer, 0, tag.length);
    }
    return value;
  });
}

/**
 * Reads frames from a stream's chunks: `push` each chunk, get the whole messages it completed.
 * A frame announcing more than MAX_FRAME_BYTES, or one that does not parse, throws (the stream is
 * then out of step and must be closed).
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  push(chunk: Buffer): unknown[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const out: unknown[] = [];
    for (;;) {
      if (this.buffered < 4) return out;
      const head = this.peek(4);
      const length = head.readUInt32BE(0);
      if (length > MAX_FRAME_BYTES || length < 4) throw new Error(`An engine frame of ${length} bytes is outside the 4..${MAX_FRAME_BYTES} allowed (is something else writing to the engine's stdout?).`);
      if (this.buffered < 4 + length) return out;
      const frame = this.take(4 + length);
      out.push(decodeBody(frame.subarray(4)));
    }
  }

  private peek(n: number): Buffer {
    if (this.chunks[0]!.length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!.subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const frame = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return frame;
  }
}
