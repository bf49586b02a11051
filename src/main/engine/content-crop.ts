/**
 * An image's content without its flat margins (a pad, a letterbox, an empty background), as the
 * network sees it for the content features (audit-methods.ts): a copy padded, cropped into its
 * background or rescaled shows its content at another size and place in the frame, which moves
 * its features far; cropped to its content, it lines up with its original again.
 */
import { contentBorder } from '../../shared/flat-border';
import type { DecodedImage } from './preprocess';

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

/** The part of the image inside its content box (src/shared/flat-border.ts contentBorder), mirrored left to right when asked; upscaled to the network's input later (preprocess.ts writeInput). */
export function contentCrop(img: DecodedImage, mirrored: boolean): DecodedImage {
  const { data, width, height, channels } = img;
  const [x0, y0, x1, y1] = contentBorder({ w: width, h: height, px: greyOf(img) });
  const w = Math.max(1, x1 - x0);
  const h = Math.max(1, y1 - y0);
  const out = Buffer.alloc(w * h * channels);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const from = ((y0 + y) * width + x0 + (mirrored ? w - 1 - x : x)) * channels;
      data.copy(out, (y * w + x) * channels, from, from + channels);
    }
  }
  return { data: out, width: w, height: h, channels, fits: false };
}
