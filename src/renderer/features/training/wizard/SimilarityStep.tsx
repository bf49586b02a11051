/** Step 2: the user's judgement of similarity to ImageNet photos, beside the studio's own estimate and what the advisor makes of both. */
import { Card, List, Radio, Stack, Text, Title } from '@mantine/core';
import type { SimilarityAnswer } from '../../../../shared/domain';
import { SCENARIOS } from '../../../components/runs';
import type { AdviceState } from './advice';
import { AdvisorStatus } from './AdvisorStatus';

/** What the user can answer; no answer asks the advisor with 'unknown' (its estimate decides). */
export type Answer = Exclude<SimilarityAnswer, 'unknown'>;

export function SimilarityStep({ answer, onAnswer, state }: { answer: Answer | null; onAnswer: (a: Answer) => void; state: AdviceState }) {
  const a = state.advice;
  return (
    <Stack gap="sm" data-testid="step-similarity">
      <Title order={5}>Do your images look like everyday photos?</Title>
      <Text size="sm">
        The pretrained networks learned from ImageNet: 1.2 million photos of animals, objects, vehicles, food and scenes. The more your images look like
        those, the more of the network can be reused as it is.
      </Text>
      <Radio.Group value={answer ?? ''} onChange={(v) => onAnswer(v as Answer)} name="similarity">
        <Stack gap="xs">
          <Radio value="high" label="Yes, similar: ordinary photos (pets, plants, products, cars, food, buildings…)" data-testid="similarity-high" />
          <Radio value="medium" label="Somewhat: photos, but of an unusual subject or viewpoint (close-ups of parts, aerial shots of fields…)" data-testid="similarity-medium" />
          <Radio value="low" label="No, different: X-rays, microscope slides, satellite bands, spectrograms, scanned documents, handwritten digits…" data-testid="similarity-low" />
        </Stack>
      </Radio.Group>
      <Card withBorder padding="sm" data-testid="advice">
        <Text fw={600} size="sm">
          The studio's estimate
        </Text>
        <AdvisorStatus state={state} />
        {a && (
          <Stack gap={4}>
            <Text size="sm" data-testid="advice-estimate">
              {a.estimate
                ? `Similarity ${a.estimate.level} (score ${a.estimate.score.toFixed(2)}, from ${a.estimate.sampled} images)`
                : `No estimate${a.estimateNote ? `: ${a.estimateNote}` : ''}`}
            </Text>
            <List size="sm" data-testid="advice-evidence">
              {(a.estimate?.evidence ?? []).map((r) => (
                <List.Item key={r}>{r}</List.Item>
              ))}
            </List>
            <Text size="sm" data-testid="advice-recommendation" data-scenario={a.scenario}>
              Recommended: <b>{SCENARIOS[a.scenario].title}</b>
              {a.similaritySource === 'answer' ? ' (from your answer above, which takes precedence over the estimate)' : a.similaritySource === 'estimate' ? ' (from the estimate)' : ''}
            </Text>
            <Text size="xs" c="dimmed">
              {a.reason}
            </Text>
          </Stack>
        )}
      </Card>
    </Stack>
  );
}
