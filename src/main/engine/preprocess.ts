/**
 * Image -> network input: decode with sharp, honour the EXIF orientation, centre square crop,
 * bilinear resize to size x size, sRGB, alpha removed, then the model family's own normalisation
 * (src/shared/preprocessing.ts: [-1, 1] for MobileNet, BGR minus the ImageNet means for VGG16/ResNet50,
 * 0..255 for EfficientNet). The preprocess version (preprocessVersion, src/shared/preprocessing.ts)
 * is part of every feature-cache key: change it whenever the output changes.
 *
 * Two routes to the same picture. An image no larger than the input (28x28 digits, 32x32 CIFAR
 * tiles upscaled to 224) is decoded at its own size and resized here, straight into the float
 * input: libvips' upscale costs ~1 ms of CPU per image, four times the decode, and would be the
 * slowest stage of feature extraction. Larger images are reduced by sharp, whose linear kernel
 * averages over the whole footprint (a plain bilinear sample would alias when shrinking).
 */
import sharp from 'sharp';
import type { PreprocessingMode } from '../../shared/domain';
import { MAX_IMAGE_BYTES, readUserFile } from '../../shared/node/user-file';
import { PREPROCESSING } from '../../shared/preprocessing';
import type { ImageRef } from './protocol';
import { decodeSmallPng, type RawPixels } from './small-png';

/** out = pixel * mul + add per input channel, after picking source channel `order[c]`. */
export interface ChannelMap {
  order: readonly [number, number, number];
  mul: readonly [number, number, number];
  add: readonly [number, number, number];
}

/** Pixel values mapped linearly from 0..255 to [lo, hi], RGB. */
function linearMap(lo: number, hi: number): ChannelMap {
  const k = (hi - lo) / 255;
  return { order: [0, 1, 2], mul: [k, k, k], add: [lo, lo, lo] };
}

export function modeMap(mode: PreprocessingMode): ChannelMap {
  const p = PREPROCESSING[mode];
  const order: [number, number, number] = p.channelOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const mul = p.std.map((s) => 1 / s) as [number, number, number];
  const add = p.mean.map((m, c) => -m / p.std[c]!) as [number, number, number];
  return { order, mul, add };
}

async function decodeRaw(image: sharp.Sharp): Promise<RawPixels> {
  const { data, info } = await image.toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** A server engine's wait for an image its host is still sending (remote-cache.ts); none on this machine's engine. */
let fileWait: ((file: string) => Promise<void>) | null = null;
export function setFileWait(wait: ((file: string) => Promise<void>) | null): void {
  fileWait = wait;
}

/** An image to decode: its bytes, a path, or a path with the folder it must stay inside. */
export type ImageInput = string | Buffer | ImageRef;

/**
 * The bytes of an image file: a regular file only (a FIFO swapped in for an image would block the
 * engine), inside its source's root when given, of a bounded size.
 */
async function readImage(file: ImageInput): Promise<Buffer> {
  if (Buffer.isBuffer(file)) return file;
  const ref = typeof file === 'string' ? { path: file } : file;
  await fileWait?.(ref.path);
  return readUserFile(ref.path, { ...(ref.root !== undefined ? { root: ref.root } : {}), maxBytes: MAX_IMAGE_BYTES });
}

/** Pixels ready for the network's input: already size x size (`fits`), or a small image still to be upscaled. */
export interface DecodedImage extends RawPixels {
  fits: boolean;
}

/**
 * Decoded and upright; reduced to the centre square at size x size by libvips when larger, else at
 * its own size (upscaled by `writeInput`). A plain small PNG is decoded here (small-png.ts); an 8-bit
 * grey or sRGB image without a profile or a rotation is decoded by sharp as it is (the colour
 * conversion and the rotation would be no-ops that still cost a pass each). With `wholeFrame`, a
 * larger image keeps its whole frame, its shorter side reduced to `wholeFrame` at most (content-crop.ts
 * looks for its content there, which may lie off the centre square).
 */
export async function decodeImage(file: ImageInput, size: number, wholeFrame?: number): Promise<DecodedImage> {
  const input = await readImage(file);
  const png = decodeSmallPng(input, wholeFrame ?? size);
  if (png) return { ...png, fits: false };
  const meta = await sharp(input, { failOn: 'error' }).metadata();
  if (Math.min(meta.width, meta.height) > size) {
    // The shorter side is the same upright or not, so the choice needs no rotation.
    const reduced = wholeFrame === undefined ? { width: size, height: size, fit: 'cover' as const } : { width: wholeFrame, height: wholeFrame, fit: 'outside' as const, withoutEnlargement: true };
    return { ...(await decodeRaw(sharp(input, { failOn: 'error' }).rotate().resize({ ...reduced, position: 'centre', kernel: 'linear' }))), fits: wholeFrame === undefined };
  }
  const plain = meta.depth === 'uchar' && (meta.space === 'b-w' || meta.space === 'srgb') && !meta.hasProfile && (meta.orientation ?? 1) === 1 && !meta.pages;
  if (plain) {
    const { data, info } = await sharp(input, { failOn: 'error' }).raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height, channels: info.channels, fits: false };
  }
  return { ...(await decodeRaw(sharp(input, { failOn: 'error' }).rotate())), fits: false };
}

/** The source channel of each input channel: grey (with or without alpha) is R, G and B; alpha is never read. */
function sourceChannels(channels: number, map: ChannelMap): [number, number, number] {
  return channels <= 2 ? [0, 0, 0] : [map.order[0], map.order[1], map.order[2]];
}

/** An image already at size x size into floats at out[offset..]. */
function affine(raw: RawPixels, map: ChannelMap, out: Float32Array, offset: number): void {
  const { data, channels: ch } = raw;
  const n = raw.width * raw.height;
  const src = sourceChannels(ch, map);
  for (let c = 0; c < 3; c++) {
    const from = src[c]!;
    const mul = map.mul[c]!;
    const add = map.add[c]!;
    for (let i = 0; i < n; i++) out[offset + i * 3 + c] = data[i * ch + from]! * mul + add;
  }
}

/**
 * Per output coordinate: the two source samples and the weight of the second, for `side` source
 * pixels from `start` (the crop) resized to `outSize` with half-pixel centres, clamped to the crop.
 */
function taps(outSize: number, start: number, side: number): { lo: Int32Array; hi: Int32Array; f: Float32Array } {
  const lo = new Int32Array(outSize);
  const hi = new Int32Array(outSize);
  const f = new Float32Array(outSize);
  const scale = side / outSize;
  for (let o = 0; o < outSize; o++) {
    const s = Math.min(Math.max((o + 0.5) * scale - 0.5, 0), side - 1);
    const i = Math.floor(s);
    lo[o] = start + i;
    hi[o] = start + Math.min(i + 1, side - 1);
    f[o] = s - i;
  }
  return { lo, hi, f };
}

/**
 * Centre square of a small image, cropped, then bilinearly upscaled to size x size (half-pixel
 * centres, as PyTorch's align_corners=False and TensorFlow's half_pixel_centers), then mapped. Separable: each
 * source row of the crop is resized across once (mapped already: the map is affine, so it commutes
 * with interpolation), then each output row blends two of them.
 */
export function upscale(raw: RawPixels, size: number, map: ChannelMap, out: Float32Array, offset: number): void {
  const { data, width, height, channels: ch } = raw;
  const side = Math.min(width, height);
  // The centre square, at whole-pixel offsets as libvips crops (odd margins leave the extra pixel on the right/bottom).
  const xs = taps(size, Math.floor((width - side) / 2), side);
  const ys = taps(size, Math.floor((height - side) / 2), side);
  const [s0, s1, s2] = sourceChannels(ch, map);
  const [m0, m1, m2] = map.mul;
  const [a0, a1, a2] = map.add;
  const rowLen = size * 3;
  const first = ys.lo[0]!;
  const last = ys.hi[size - 1]!;
  const rows = new Float32Array((last - first + 1) * rowLen);
  for (let y = first; y <= last; y++) {
    const base = y * width * ch;
    let d = (y - first) * rowLen;
    for (let x = 0; x < size; x++, d += 3) {
      const a = base + xs.lo[x]! * ch;
      const b = base + xs.hi[x]! * ch;
      const f = xs.f[x]!;
      const g = 1 - f;
      rows[d] = (data[a + s0]! * g + data[b + s0]! * f) * m0 + a0;
      rows[d + 1] = (data[a + s1]! * g + data[b + s1]! * f) * m1 + a1;
      rows[d + 2] = (data[a + s2]! * g + data[b + s2]! * f) * m2 + a2;
    }
  }
  for (let y = 0; y < size; y++) {
    const a = (ys.lo[y]! - first) * rowLen;
    const b = (ys.hi[y]! - first) * rowLen;
    const f = ys.f[y]!;
    const g = 1 - f;
    const dst = offset + y * rowLen;
    if (f === 0) out.set(rows.subarray(a, a + rowLen), dst);
    else for (let i = 0; i < rowLen; i++) out[dst + i] = rows[a + i]! * g + rows[b + i]! * f;
  }
}

/**
 * A small image's centre square at its own size, mapped, at out[offset .. offset + side*side*3)
 * (side = the shorter side): what a model that upscales in its graph takes (onnx/emit.ts).
 */
export function writeSquare(image: DecodedImage, map: ChannelMap, out: Float32Array, offset = 0): void {
  const { data, width, height, channels: ch } = image;
  const side = Math.min(width, height);
  const left = Math.floor((width - side) / 2);
  const top = Math.floor((height - side) / 2);
  const [s0, s1, s2] = sourceChannels(ch, map);
  const [m0, m1, m2] = map.mul;
  const [a0, a1, a2] = map.add;
  let d = offset;
  for (let y = 0; y < side; y++) {
    for (let x = 0, i = ((top + y) * width + left) * ch; x < side; x++, i += ch, d += 3) {
      out[d] = data[i + s0]! * m0 + a0;
      out[d + 1] = data[i + s1]! * m1 + a1;
      out[d + 2] = data[i + s2]! * m2 + a2;
    }
  }
}

/** The pixels as the network's input, written at out[offset .. offset + size*size*3). */
export function writeInput(image: DecodedImage, size: number, map: ChannelMap, out: Float32Array, offset = 0): void {
  if (image.fits) affine(image, map, out, offset);
  else upscale(image, size, map, out, offset);
}

async function load(file: ImageInput, size: number, map: ChannelMap): Promise<Float32Array> {
  const out = new Float32Array(size * size * 3);
  writeInput(await decodeImage(file, size), size, map, out);
  return out;
}

/** Decode one image into an HWC float32 array of size*size*3 with pixel values mapped linearly to [lo, hi]. */
export function loadImage(file: ImageInput, size: number, scaling: readonly [number, number] = [-1, 1]): Promise<Float32Array> {
  return load(file, size, linearMap(scaling[0], scaling[1]));
}

/** Decode one image into the network input of a model whose family preprocesses as `mode`. */
export function loadModelInput(file: ImageInput, size: number, mode: PreprocessingMode): Promise<Float32Array> {
  return load(file, size, modeMap(mode));
}
