/**
 * The Train screen: the scenario wizard, and the runs (queued, training, recent) with the live
 * view of the one picked. Runs train in the host whether or not this screen is open.
 */
import { useEffect, useState } from 'react';
import { Badge, Group, NavLink, ScrollArea, Stack, Tabs, Text } from '@mantine/core';
import type { ProjectCounts } from '../../../shared/domain';
import { useQuery } from '../../api/hooks';
import { useLiveProgress } from './live';
import { STATE_COLOR } from '../../components/runs';
import { LiveRun } from './LiveRun';
import { Wizard } from './wizard/Wizard';
import { EngineChoice } from './EngineChoice';
import { SweepTab } from './sweep/SweepTab';

let lastTab: string = 'wizard';
let lastRun: number | null = null;

export function TrainScreen({ counts, onEvaluate }: { counts: ProjectCounts; onEvaluate?: (runId: number) => void }) {
  const [tab, setTab] = useState<string>(lastTab);
  const [runId, setRunId] = useState<number | null>(lastRun);
  const runs = useQuery('listRuns', {}, ['runs']).data ?? [];
  const live = useLiveProgress();
  useEffect(() => {
    lastTab = tab;
    lastRun = runId;
  }, [tab, runId]);

  // A sweep's runs join the queue when their turn comes (the Sweep tab lists them all before that).
  const active = runs.filter((r) => r.state === 'running' && (r.sweepId === null || live.get(r.id)?.progress)).sort((a, b) => a.id - b.id);
  const recent = runs.filter((r) => r.state !== 'running').slice(0, 12);
  const shown = runId ?? active[0]?.id ?? recent[0]?.id ?? null;

  const phase = (id: number, epochs: number): string => {
    const p = live.get(id)?.progress;
    if (!p) return 'waiting';
    if (p.phase === 'queued') return 'queued';
    if (p.phase === 'train') return `epoch ${p.epoch ?? '?'}/${p.epochs ?? epochs}`;
    return p.phase === 'upload' ? 'uploading' : p.phase === 'extract' ? 'extracting' : 'predicting';
  };

  return (
    <Tabs value={tab} onChange={(v) => setTab(v ?? 'wizard')} keepMounted={false}>
      <Tabs.List mb="sm">
        <Tabs.Tab value="wizard" data-testid="tab-wizard">
          New run
        </Tabs.Tab>
        <Tabs.Tab value="runs" data-testid="tab-runs" rightSection={active.length > 0 ? <Badge size="xs">{active.length}</Badge> : undefined}>
          Training
        </Tabs.Tab>
        <Tabs.Tab value="sweep" data-testid="tab-sweep">
          Sweep
        </Tabs.Tab>
      </Tabs.List>
      <Tabs.Panel value="sweep">
        <SweepTab {...(onEvaluate ? { onEvaluate } : {})} />
      </Tabs.Panel>
      <Tabs.Panel value="wizard">
        <EngineChoice />
        <Wizard
          counts={counts}
          onStarted={(id) => {
            setRunId(id);
            setTab('runs');
          }}
        />
      </Tabs.Panel>
      <Tabs.Panel value="runs">
        <Group align="flex-start" gap="md" wrap="nowrap">
          <Stack gap={4} w={220} style={{ flexShrink: 0 }} data-testid="run-queue">
            <Text size="xs" fw={700} c="dimmed" tt="uppercase">
              Queue
            </Text>
            {active.length === 0 && (
              <Text size="xs" c="dimmed">
                Nothing training.
              </Text>
            )}
            {active.map((r, i) => (
              <NavLink
                key={r.id}
                active={shown === r.id}
                onClick={() => setRunId(r.id)}
                label={`Run ${r.id} · scenario ${r.scenario}`}
                description={`${i === 0 ? '' : `#${i + 1} in queue · `}${phase(r.id, r.config.epochs)}`}
                data-testid="queue-item"
                data-run-id={r.id}
              />
            ))}
            <Text size="xs" fw={700} c="dimmed" tt="uppercase" mt="sm">
              Recent
            </Text>
            <ScrollArea.Autosize mah={400}>
              {recent.map((r) => (
                <NavLink
                  key={r.id}
                  active={shown === r.id}
                  onClick={() => setRunId(r.id)}
                  label={`Run ${r.id} · scenario ${r.scenario}`}
                  description={r.bestValAcc !== null ? `val acc ${(100 * r.bestValAcc).toFixed(1)}%` : r.state}
                  rightSection={<Badge size="xs" color={STATE_COLOR[r.state]}>{r.state}</Badge>}
                  data-testid="recent-run"
                  data-run-id={r.id}
                />
              ))}
            </ScrollArea.Autosize>
          </Stack>
          <div style={{ flex: 1, minWidth: 0 }}>
            {shown !== null ? (
              <LiveRun key={shown} runId={shown} {...(onEvaluate ? { onEvaluate } : {})} />
            ) : (
              <Text c="dimmed">No runs yet: start one from the New run tab.</Text>
            )}
          </div>
        </Group>
      </Tabs.Panel>
    </Tabs>
  );
}
