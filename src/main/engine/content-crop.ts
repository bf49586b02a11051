/**
 * An image's content without its flat margins (a pad, a letterbox, an empty background), as the
 * network sees it for the content features (audit-methods.ts): a copy padded, cropped into its
 * background or rescaled shows its content at another size and place in the frame, which moves
 * its features far; cropped to its content, it lines up with its original again.
 */
import sharp from 'sharp';
import { contentBorder } from '../../shared/flat-border';
import { decodeImage, type DecodedImage, type ImageInput } from './preprocess';

/**
 * The whole frame is searched for the content, at up to this many times the network's input side
 * (its shorter side): the centre square a large image is otherwise cut to may cut into the content
 * of a copy padded or cropped on one side, and a content box of half the frame still fills the input.
 */
const FRAME_SIDES = 2;

/** The image's grey levels (the mean of its colour channels; alpha is never read). */
function greyOf(img: DecodedImage): Float32Array {
  const { data, width, height, channels } = img;
  const colours = channels >= 3 ? 3 : 1;
  const out = new Float32Array(width * height);
  for (let i = 0, s = 0; i < out.length; i++, s += channels) {
    let v = 0;
    for (let c = 0; c < colours; c++) v += data[s + c] as number;
    out[i] = v / colours;
  }
  return out;
}

/** The image mirrored left to right. */
export function mirrored(img: DecodedImage): DecodedImage {
  const { data, width, height, channels } = img;
  const out = Buffer.alloc(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const from = (y * width + width - 1 - x) * channels;
      data.copy(out, (y * width + x) * channels, from, from + channels);
    }
  }
  return { ...img, data: out };
}

/** The part of the image inside its content box (src/shared/flat-border.ts contentBorder); upscaled to the network's input later (preprocess.ts writeInput). */
export function contentCrop(img: DecodedImage): DecodedImage {
  const { data, width, height, channels } = img;
  const [x0, y0, x1, y1] = contentBorder({ w: width, h: height, px: greyOf(img) });
  const w = Math.max(1, x1 - x0);
  const h = Math.max(1, y1 - y0);
  const out = Buffer.alloc(w * h * channels);
  for (let y = 0; y < h; y++) data.copy(out, y * w * channels, ((y0 + y) * width + x0) * channels, ((y0 + y) * width + x0 + w) * channels);
  return { data: out, width: w, height: h, channels, fits: false };
}

/** A crop larger than the input reduced to its centre square at size x size by libvips (as preprocess.ts decodeImage reduces a large image); a smaller one as it is. */
async function toInput(crop: DecodedImage, size: number): Promise<DecodedImage> {
  if (Math.min(crop.width, crop.height) <= size) return crop;
  const raw = { width: crop.width, height: crop.height, channels: crop.channels as 1 | 2 | 3 | 4 };
  const { data, info } = await sharp(crop.data, { raw }).resize(size, size, { fit: 'cover', position: 'centre', kernel: 'linear' }).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels, fits: true };
}

/** The network's inputs for an image's content features: its content crop as it is and mirrored (one decode; their features are summed). */
export async function contentInputs(file: ImageInput, size: number): Promise<DecodedImage[]> {
  const crop = await toInput(contentCrop(await decodeImage(file, size, FRAME_SIDES * size)), size);
  return [crop, mirrored(crop)];
}
