/**
 * 64-bit perceptual hashes of an image with sharp, as 16 hex digits, and their Hamming distance.
 *
 * dHash: greyscale, 9x8, one bit per horizontally adjacent pair (left brighter than right).
 * pHash: greyscale, 32x32, 2-D DCT-II, the 8x8 lowest frequencies without the DC term (63 bits,
 * plus a 0), each bit = coefficient above their median.
 */
import sharp from 'sharp';

const decodeOptions = { failOn: 'truncated' as const, pages: 1, limitInputPixels: 268_402_689 };

async function greyPixels(source: string | Buffer, width: number, height: number): Promise<Uint8Array> {
  const { data } = await sharp(source, decodeOptions)
    .rotate()
    .flatten({ background: '#ffffff' })
    .greyscale()
    .resize(width, height, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return new Uint8Array(data.buffer, data.byteOffset, width * height);
}

function toHex(bits: readonly boolean[]): string {
  let hex = '';
  for (let i = 0; i < 64; i += 4) hex += (((bits[i] ? 8 : 0) | (bits[i + 1] ? 4 : 0) | (bits[i + 2] ? 2 : 0) | (bits[i + 3] ? 1 : 0)) >>> 0).toString(16);
  return hex;
}

export async function dHash(source: string | Buffer): Promise<string> {
  const px = await greyPixels(source, 9, 8);
  const bits: boolean[] = [];
  for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) bits.push((px[y * 9 + x] as number) > (px[y * 9 + x + 1] as number));
  return toHex(bits);
}

const N = 32;
/** cos((2x + 1) u pi / 2N) for u < 8, x < 32. */
const COS = Array.from({ length: 8 }, (_, u) => Float64Array.from({ length: N }, (_, x) => Math.cos(((2 * x + 1) * u * Math.PI) / (2 * N))));

export async function pHash(source: string | Buffer): Promise<string> {
  const px = await greyPixels(source, N, N);
  // Rows first (8 frequencies per row), then columns: only the 8x8 block is needed.
  const rows = new Float64Array(N * 8);
  for (let y = 0; y < N; y++) {
    for (let u = 0; u < 8; u++) {
      let s = 0;
      const c = COS[u] as Float64Array;
      for (let x = 0; x < N; x++) s += (px[y * N + x] as number) * (c[x] as number);
      rows[y * 8 + u] = s;
    }
  }
  const coeffs: number[] = [];
  for (let v = 0; v < 8; v++) {
    for (let u = 0; u < 8; u++) {
      let s = 0;
      const c = COS[v] as Float64Array;
      for (let y = 0; y < N; y++) s += (rows[y * 8 + u] as number) * (c[y] as number);
      coeffs.push(s);
    }
  }
  const ac = coeffs.slice(1);
  const median = [...ac].sort((a, b) => a - b)[31] as number;
  return toHex([false, ...ac.map((c) => c > median)]);
}

const POP8 = Uint8Array.from({ length: 256 }, (_, i) => {
  let c = 0;
  for (let v = i; v; v >>= 1) c += v & 1;
  return c;
});

export function hammingDistance(a: string, b: string): number {
  let d = 0;
  for (let i = 0; i < 16; i += 2) d += POP8[parseInt(a.slice(i, i + 2), 16) ^ parseInt(b.slice(i, i + 2), 16)] as number;
  return d;
}
