#!/usr/bin/env node
// Draws the application icon (resources/icon.png, 512x512) from an SVG with sharp:
// a small network whose first layers are frozen (grey) and whose new head is bright,
// the product's idea in one picture. Run: node build/make-icon.mjs
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const SIZE = 512;

const layers = [
  { x: 120, ys: [150, 230, 310, 390], frozen: true },
  { x: 220, ys: [170, 256, 342], frozen: true },
  { x: 320, ys: [190, 322], frozen: false },
  { x: 400, ys: [256], frozen: false },
];

let edges = '';
for (let l = 0; l < layers.length - 1; l++) {
  for (const y1 of layers[l].ys)
    for (const y2 of layers[l + 1].ys) {
      const colour = layers[l + 1].frozen ? '#9fb0c8' : '#ffd166';
      edges += `<line x1="${layers[l].x}" y1="${y1}" x2="${layers[l + 1].x}" y2="${y2}" stroke="${colour}" stroke-width="6" stroke-opacity="0.8"/>`;
    }
}
let nodes = '';
for (const layer of layers)
  for (const y of layer.ys)
    nodes += `<circle cx="${layer.x}" cy="${y}" r="${layer.frozen ? 24 : 30}" fill="${layer.frozen ? '#d9e2ef' : '#ffd166'}" stroke="#ffffff" stroke-width="6"/>`;

const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${SIZE}" height="${SIZE}" viewBox="0 0 ${SIZE} ${SIZE}">
  <defs>
    <linearGradient id="bg" x1="0" y1="0" x2="1" y2="1">
      <stop offset="0" stop-color="#1d3557"/>
      <stop offset="1" stop-color="#2a9d8f"/>
    </linearGradient>
  </defs>
  <rect x="16" y="16" width="480" height="480" rx="96" fill="url(#bg)"/>
  <rect x="80" y="110" width="190" height="320" rx="40" fill="#ffffff" fill-opacity="0.08"/>
  ${edges}
  ${nodes}
</svg>`;

const out = path.join(root, 'resources', 'icon.png');
await sharp(Buffer.from(svg)).png({ compressionLevel: 9 }).toFile(out);
console.log(`wrote ${out}`);
