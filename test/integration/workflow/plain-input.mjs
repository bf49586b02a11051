// An image as the exported model's input tensor, decoded as its preprocessing.json says (sharp, as
// README.txt of the export shows): nothing of the app, for the plain-* scripts beside this file.
import sharp from 'sharp';

/** HWC float32 input of one image file for preprocessing.json `pre`. */
export async function modelInput(file, pre) {
  const size = pre.inputSize;
  const { data, info } = await sharp(file)
    .rotate()
    .resize(size, size, { fit: pre.resize.fit, position: pre.resize.position, kernel: pre.resize.kernel === 'bilinear' ? 'linear' : pre.resize.kernel })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const order = pre.channelOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  const out = new Float32Array(size * size * 3);
  for (let i = 0; i < size * size; i++)
    for (let c = 0; c < 3; c++) out[i * 3 + c] = (data[i * info.channels + Math.min(order[c], info.channels - 1)] - pre.mean[c]) / pre.std[c];
  return out;
}
