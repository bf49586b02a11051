// An image as the exported model's input tensor, decoded as its preprocessing.json says (sharp, as
// README.txt of the export shows, and its resize.upscale rule for small images, written out here
// from the words): nothing of the app, for the plain-* scripts beside this file.
import sharp from 'sharp';

/** The centre square of an RGB(A)/grey image, bilinear with half-pixel centres, clamped to the square; floats 0..255, 3 channels. */
function upscale(data, width, height, channels, size) {
  const side = Math.min(width, height);
  const left = Math.floor((width - side) / 2);
  const top = Math.floor((height - side) / 2);
  const at = (x, y, c) => data[((top + y) * width + left + x) * channels + (channels <= 2 ? 0 : c)];
  const out = new Float32Array(size * size * 3);
  for (let oy = 0; oy < size; oy++) {
    const sy = Math.min(Math.max((oy + 0.5) * (side / size) - 0.5, 0), side - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, side - 1);
    for (let ox = 0; ox < size; ox++) {
      const sx = Math.min(Math.max((ox + 0.5) * (side / size) - 0.5, 0), side - 1);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, side - 1);
      for (let c = 0; c < 3; c++) {
        const a = at(x0, y0, c) * (1 - (sx - x0)) + at(x1, y0, c) * (sx - x0);
        const b = at(x0, y1, c) * (1 - (sx - x0)) + at(x1, y1, c) * (sx - x0);
        out[(oy * size + ox) * 3 + c] = a * (1 - (sy - y0)) + b * (sy - y0);
      }
    }
  }
  return out;
}

/** HWC float32 input of one image file for preprocessing.json `pre`. */
export async function modelInput(file, pre) {
  const size = pre.inputSize;
  const meta = await sharp(file).metadata();
  let pixels; // HWC RGB, 0..255
  if (pre.resize.upscale && Math.min(meta.width, meta.height) <= size) {
    const { data, info } = await sharp(file).rotate().toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
    pixels = upscale(data, info.width, info.height, info.channels, size);
  } else {
    const { data, info } = await sharp(file)
      .rotate()
      .resize(size, size, { fit: pre.resize.fit, position: pre.resize.position, kernel: pre.resize.kernel === 'bilinear' ? 'linear' : pre.resize.kernel })
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    pixels = Float32Array.from({ length: size * size * 3 }, (_, i) => data[Math.floor(i / 3) * info.channels + Math.min(i % 3, info.channels - 1)]);
  }
  const order = pre.channelOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const out = new Float32Array(size * size * 3);
  for (let i = 0; i < size * size; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = (pixels[i * 3 + order[c]] - pre.mean[c]) / pre.std[c];
  return out;
}
