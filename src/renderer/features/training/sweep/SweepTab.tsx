/** The Train screen's Sweep tab: the form and plan, then the leaderboard of the sweep picked (the latest by default). */
import { useState } from 'react';
import { Divider, Select, Stack } from '@mantine/core';
import { useQuery } from '../../../api/hooks';
import { SweepForm } from './SweepForm';
import { SweepLeaderboard } from './SweepLeaderboard';

export function SweepTab({ onEvaluate }: { onEvaluate?: (runId: number) => void }) {
  const sweeps = useQuery('listSweeps', {}, ['runs']).data ?? [];
  const [picked, setPicked] = useState<number | null>(null);
  const shown = picked ?? sweeps[0]?.id ?? null;
  return (
    <Stack gap="md">
      <SweepForm onStarted={setPicked} />
      {sweeps.length > 0 && (
        <>
          <Divider />
          <Select
            size="xs"
            w={260}
            label="Sweep"
            value={shown === null ? null : String(shown)}
            onChange={(v) => v && setPicked(Number(v))}
            data={sweeps.map((s) => ({ value: String(s.id), label: `Sweep ${s.id} · ${s.state} · ${s.createdAt.slice(0, 16).replace('T', ' ')}` }))}
            data-testid="sweep-picker"
          />
          {shown !== null && <SweepLeaderboard key={shown} sweepId={shown} {...(onEvaluate ? { onEvaluate } : {})} />}
        </>
      )}
    </Stack>
  );
}
