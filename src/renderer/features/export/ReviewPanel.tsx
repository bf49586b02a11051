/**
 * Review of a run's test-set predictions before export: filter by predicted class, sort by
 * confidence, and correct a prediction with the gallery's keys (the correction is the image's
 * label, which the submission uses instead of the prediction).
 */
import { useState } from 'react';
import { Group, SegmentedControl, Select, Stack, Text } from '@mantine/core';
import type { ClassInfo, PredictionQuery, PredictionSource } from '../../../shared/domain';
import { PredictionGrid } from '../../components/PredictionGrid';

type ReviewSort = Extract<PredictionQuery['sort'], 'confidence-asc' | 'confidence-desc' | 'imported'>;

/** `source`: a run, or an ensemble (its classes are its first member's, `classNames`). */
export function ReviewPanel({ source, classNames, classes, testTotal }: { source: PredictionSource; classNames: string[]; classes: ClassInfo[]; testTotal: number }) {
  const [predicted, setPredicted] = useState<string>('all');
  const [sort, setSort] = useState<ReviewSort>('confidence-asc');
  const index = predicted === 'all' ? undefined : Number(predicted);
  return (
    <Stack gap="xs" data-testid="export-review">
      <Group gap="md" align="flex-end">
        <Select
          size="xs"
          w={220}
          label="Predicted class"
          data={[{ value: 'all', label: 'All classes' }, ...classNames.map((name, i) => ({ value: String(i), label: name }))]}
          value={predicted}
          onChange={(v) => setPredicted(v ?? 'all')}
          allowDeselect={false}
          data-testid="review-class"
        />
        <SegmentedControl
          size="xs"
          aria-label="Sort by confidence"
          value={sort}
          onChange={(v) => setSort(v as ReviewSort)}
          data={[
            { value: 'confidence-asc', label: 'Least confident first' },
            { value: 'confidence-desc', label: 'Most confident first' },
            { value: 'imported', label: 'Import order' },
          ]}
          data-testid="review-sort"
        />
      </Group>
      <Text size="xs" c="dimmed">
        Click an image and press 1–9 to give it a class (0 removes it): your label goes into the submission instead of the prediction.
      </Text>
      <PredictionGrid
        filter={{ ...source, split: 'test', sort, ...(index === undefined ? {} : { predictedIndex: index }) }}
        classes={classes}
        mode="review"
        testId="review-grid"
        emptyText={
          testTotal === 0
            ? 'The project has no test images: import the test set in the gallery (Import… → Test set).'
            : index === undefined
              ? `${'runs' in source ? 'This ensemble' : 'This run'} has no predictions for the test set: predict it first.`
              : `No test image was predicted as ${classNames[index] ?? 'this class'}.`
        }
      />
    </Stack>
  );
}
