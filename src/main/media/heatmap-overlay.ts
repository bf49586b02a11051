/**
 * A class-activation map drawn over its image as a PNG: the image upright (EXIF), reduced to at most
 * 1024 pixels on its long side (small images enlarged to 224, pixels kept sharp), and the map
 * upsampled over the centre square the network saw, blended in the heat scale.
 */
import sharp from 'sharp';
import { centreSquare, heatColour, upsampleHeatmap, type Heatmap } from '../../shared/heatmap';

const MAX_SIDE = 1024;
const MIN_SIDE = 224;

/** The image's upright size in pixels (width and height swapped by a 90° EXIF orientation). */
export async function uprightSize(file: string): Promise<{ width: number; height: number }> {
  const meta = await sharp(file, { failOn: 'error' }).metadata();
  const turned = (meta.orientation ?? 1) >= 5;
  return turned ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
}

/** The overlay as PNG bytes; `opacity` 0..1 is the map's weight in the blend. */
export async function heatmapOverlay(file: string, map: Heatmap, opacity = 0.5): Promise<Buffer> {
  const size = await uprightSize(file);
  const long = Math.max(size.width, size.height);
  const scale = long > MAX_SIDE ? MAX_SIDE / long : long < MIN_SIDE ? MIN_SIDE / long : 1;
  const width = Math.max(1, Math.round(size.width * scale));
  const height = Math.max(1, Math.round(size.height * scale));
  const { data } = await sharp(file, { failOn: 'error' })
    .rotate()
    .resize(width, height, { fit: 'fill', kernel: scale > 1 ? 'nearest' : 'lanczos3' })
    .toColourspace('srgb')
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const sq = centreSquare(width, height);
  const left = Math.round(sq.left);
  const top = Math.round(sq.top);
  const up = upsampleHeatmap(map, sq.side, sq.side);
  for (let y = 0; y < sq.side; y++) {
    for (let x = 0; x < sq.side; x++) {
      const colour = heatColour(up[y * sq.side + x] ?? 0);
      const o = ((top + y) * width + left + x) * 3;
      for (let c = 0; c < 3; c++) data[o + c] = Math.round((1 - opacity) * (data[o + c] ?? 0) + opacity * colour[c]!);
    }
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}
