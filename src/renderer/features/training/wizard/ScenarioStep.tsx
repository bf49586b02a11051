/**
 * Step 3: the four scenarios on the size x similarity chart with the project placed on it, the
 * advisor's recommendation marked, and the user's choice (which may differ).
 */
import { Badge, Card, Group, Radio, Stack, Text } from '@mantine/core';
import type { AdviceInfo, Scenario, SimilarityAnswer } from '../../../../shared/domain';
import { SCENARIOS } from '../../../components/runs';
import type { AdviceState } from './advice';
import { AdvisorStatus } from './AdvisorStatus';

/** Height of the dot for the similarity the advice used (the middle line divides like from unlike). */
const SIMILARITY_Y: Record<SimilarityAnswer, number> = { high: 0.8, medium: 0.6, low: 0.2, unknown: 0.5 };

/** The project on the chart: x by log10 of the smallest class, two decades either side of where the advisor calls a set large. */
function placement(a: AdviceInfo): { x: number; y: number } {
  const mid = Math.log10(a.largeFrom);
  const x = (Math.log10(Math.max(1, a.smallestClass)) - (mid - 2)) / 4;
  return { x: Math.min(0.98, Math.max(0.02, x)), y: SIMILARITY_Y[a.similarity] };
}

function ScenarioChart({ advice, chosen, onChoose }: { advice: AdviceInfo | undefined; chosen: Scenario | null; onChoose: (s: Scenario) => void }) {
  const W = 470;
  const H = 280;
  const m = 30;
  const quads: { s: Scenario; x: number; y: number }[] = [
    { s: 1, x: 0, y: 0 },
    { s: 4, x: 1, y: 0 },
    { s: 2, x: 0, y: 1 },
    { s: 3, x: 1, y: 1 },
  ];
  const qw = (W - m) / 2;
  const qh = (H - m) / 2;
  const recommended = advice?.scenario;
  const place = advice ? placement(advice) : null;
  return (
    <svg
      viewBox={`0 0 ${W} ${H}`}
      width={W}
      role="img"
      aria-label={recommended ? `Dataset size against similarity; the advisor places the project in scenario ${recommended}` : 'Dataset size against similarity'}
      data-testid="scenario-chart"
    >
      {quads.map((q) => (
        <g key={q.s} onClick={() => onChoose(q.s)} style={{ cursor: 'pointer' }} data-testid={`quadrant-${q.s}`}>
          <rect
            x={m + q.x * qw}
            y={q.y * qh}
            width={qw - 2}
            height={qh - 2}
            rx={4}
            fill={q.s === recommended ? 'rgba(34,139,230,0.25)' : 'rgba(128,128,128,0.08)'}
            stroke={q.s === chosen ? '#228be6' : 'rgba(128,128,128,0.4)'}
            strokeWidth={q.s === chosen ? 2.5 : 1}
          />
          <text x={m + q.x * qw + 8} y={q.y * qh + 18} fontSize={11} fontWeight={600} fill="currentColor">
            {SCENARIOS[q.s].title}
          </text>
          <text x={m + q.x * qw + 8} y={q.y * qh + 34} fontSize={10} fill="currentColor" fillOpacity={0.7}>
            {SCENARIOS[q.s].short}
          </text>
        </g>
      ))}
      {place && (
        <circle cx={m + place.x * (W - m)} cy={(1 - place.y) * (H - m)} r={7} fill="#fa5252" stroke="white" strokeWidth={2} data-testid="project-dot">
          <title>This project</title>
        </circle>
      )}
      <text x={m + (W - m) / 2} y={H - 8} fontSize={10} textAnchor="middle" fill="currentColor" fillOpacity={0.7}>
        images in the smallest class →{advice ? ` (large from ${advice.largeFrom})` : ''}
      </text>
      <text x={10} y={(H - m) / 2} fontSize={10} textAnchor="middle" fill="currentColor" fillOpacity={0.7} transform={`rotate(-90 10 ${(H - m) / 2})`}>
        similarity →
      </text>
    </svg>
  );
}

export function ScenarioStep({ state, chosen, onChoose }: { state: AdviceState; chosen: Scenario | null; onChoose: (s: Scenario) => void }) {
  const recommended = state.advice?.scenario;
  return (
    <Stack gap="sm" data-testid="step-recommendation">
      <AdvisorStatus state={state} />
      {state.advice && (
        <Text size="sm" data-testid="advice-reason">
          {state.advice.reason}
        </Text>
      )}
      <Group align="flex-start" gap="lg" wrap="wrap">
        <ScenarioChart advice={state.advice} chosen={chosen} onChoose={onChoose} />
        <Radio.Group value={chosen === null ? '' : String(chosen)} onChange={(v) => onChoose(Number(v) as Scenario)} name="scenario" style={{ flex: 1, minWidth: 320 }}>
          <Stack gap="xs">
            {([1, 2, 3, 4] as Scenario[]).map((s) => (
              <Card key={s} withBorder padding="xs" data-testid={`scenario-card-${s}`} data-recommended={s === recommended} style={{ borderColor: s === recommended ? 'var(--mantine-color-blue-filled)' : undefined }}>
                <Radio
                  value={String(s)}
                  data-testid={`scenario-${s}`}
                  label={
                    <Group gap="xs">
                      <Text fw={600} size="sm">
                        {SCENARIOS[s].title}
                      </Text>
                      {s === recommended && (
                        <Badge size="xs" data-testid="recommended">
                          recommended
                        </Badge>
                      )}
                    </Group>
                  }
                  description={SCENARIOS[s].what}
                />
              </Card>
            ))}
          </Stack>
        </Radio.Group>
      </Group>
    </Stack>
  );
}
