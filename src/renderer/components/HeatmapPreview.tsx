/**
 * An image with its Grad-CAM heatmap drawn over it (what the run's model looked at): the predicted
 * class's map by default, any class from the picker, the map's opacity on a slider. The map covers
 * the centre square the network saw (shared/heatmap.ts places it as the CLI's overlays do).
 */
import { useEffect, useRef, useState } from 'react';
import { Group, Loader, Select, Slider, Stack, Text } from '@mantine/core';
import { centreSquare, heatColour, heatmapPeak, upsampleHeatmap } from '../../shared/heatmap';
import { fileUrl } from '../api/client';
import { useQuery } from '../api/hooks';
import { ErrorText } from './ErrorText';

/** The longest side the image is shown at (small images are enlarged, pixels kept sharp). */
const SIDE = 420;

export function HeatmapPreview({ runId, imageId, fileName }: { runId: number; imageId: number; fileName: string }) {
  const [className, setClassName] = useState<string | null>(null);
  const [opacity, setOpacity] = useState(0.5);
  const [natural, setNatural] = useState<{ width: number; height: number } | null>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const q = useQuery('imageHeatmap', { runId, imageId, ...(className ? { className } : {}) }, ['runs']);
  const heat = q.data && !q.stale ? q.data : undefined;
  const scale = natural ? SIDE / Math.max(natural.width, natural.height) : 1;
  const shown = natural ? { width: Math.round(natural.width * scale), height: Math.round(natural.height * scale) } : null;

  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx || !heat || !shown) return;
    ctx.clearRect(0, 0, shown.width, shown.height);
    const sq = centreSquare(shown.width, shown.height);
    const side = Math.max(1, Math.round(sq.side));
    const up = upsampleHeatmap(heat.map, side, side);
    const pixels = ctx.createImageData(side, side);
    up.forEach((v, i) => {
      const [r, g, b] = heatColour(v);
      pixels.data.set([r, g, b, 255], i * 4);
    });
    ctx.putImageData(pixels, Math.round(sq.left), Math.round(sq.top));
  }, [heat, shown?.width, shown?.height]); // eslint-disable-line react-hooks/exhaustive-deps -- `shown` is derived from the two numbers

  const peak = heat && natural ? heatmapPeak(heat.map, natural.width, natural.height) : null;
  const classNames = q.data?.classNames ?? [];
  const picked = heat ? (heat.classNames[heat.classIndex] ?? null) : className;
  return (
    <Stack gap="xs" data-testid="heatmap-preview" data-state={heat && shown ? 'ready' : 'loading'} data-class={picked ?? ''} data-peak-x={peak?.x.toFixed(4)} data-peak-y={peak?.y.toFixed(4)}>
      <Group gap="md" align="flex-end">
        <Select
          size="xs"
          w={220}
          label="Class explained"
          aria-label="Class explained"
          data={classNames.map((n, i) => ({ value: n, label: `${n}${q.data ? ` · ${Math.round(100 * (q.data.probabilities[i] ?? 0))}%` : ''}${q.data?.predictedIndex === i ? ' (predicted)' : ''}` }))}
          value={picked}
          onChange={(v) => v && setClassName(v)}
          allowDeselect={false}
          data-testid="heatmap-class"
        />
        <Stack gap={2} w={200}>
          <Text size="xs">Heatmap opacity: {Math.round(100 * opacity)}%</Text>
          <Slider min={0} max={1} step={0.05} value={opacity} onChange={setOpacity} label={(v) => `${Math.round(100 * v)}%`} thumbLabel="Heatmap opacity" data-testid="heatmap-opacity" />
        </Stack>
        {!heat && !q.error && <Loader size="xs" />}
      </Group>
      <ErrorText error={q.error} />
      <div style={{ position: 'relative', width: shown?.width ?? SIDE, height: shown?.height ?? SIDE }}>
        <img
          src={fileUrl('image', imageId)}
          alt={fileName}
          onLoad={(e) => setNatural({ width: e.currentTarget.naturalWidth, height: e.currentTarget.naturalHeight })}
          style={{ width: '100%', height: '100%', display: 'block', imageRendering: scale > 1 ? 'pixelated' : 'auto' }}
          data-testid="heatmap-image"
        />
        {shown && <canvas ref={canvas} width={shown.width} height={shown.height} style={{ position: 'absolute', inset: 0, opacity, pointerEvents: 'none' }} data-testid="heatmap-canvas" />}
      </div>
      {heat && (
        <Text size="xs" c="dimmed">
          Grad-CAM of {heat.classNames[heat.classIndex]} on {heat.layer}: red is where the evidence for that class is strongest.
        </Text>
      )}
    </Stack>
  );
}
