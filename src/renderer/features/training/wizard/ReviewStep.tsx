/** Step 5: the run as it will start, and anything still to fix. */
import { Alert, List, Stack, Table } from '@mantine/core';
import type { Scenario } from '../../../../shared/domain';
import { SCENARIOS } from '../../../components/runs';
import type { DataFacts } from './data-facts';
import type { FormState } from './form';

export function ReviewStep({ scenario, form, errors, facts }: { scenario: Scenario; form: FormState; errors: Record<string, string>; facts: DataFacts }) {
  const rows: [string, string][] = [
    ['Scenario', SCENARIOS[scenario].title],
    ['Model', form.model || '—'],
    ...(scenario === 1 ? ([['Feature layer', form.cutLayer || 'model default']] as [string, string][]) : []),
    ...(scenario === 2 ? ([['Frozen up to', form.freezeTo || '—']] as [string, string][]) : []),
    ['Head', `${form.hidden.trim() || 'no hidden layer'} · ${form.activation} · dropout ${form.dropout}`],
    ['Optimiser', `${form.optimizer}, learning rate ${form.lr}${scenario === 2 || scenario === 4 ? `, pretrained ${form.lrPretrained || 'lr / 10'}` : ''}`],
    ['Batches', `${form.batchSize} images, ${form.epochs} epochs, patience ${form.patience}`],
    ['Augmentation', form.augmentOn ? Object.entries(form.augment).filter(([, v]) => v).map(([k]) => k).join(', ') || 'none selected' : 'off'],
    ['Class weights', form.classWeights ? 'on' : 'off'],
    ['Seed', String(form.seed)],
    ['Data', `${facts.train} training and ${facts.val} validation images in ${facts.classes.filter((c) => c.train > 0).length} classes`],
  ];
  const errs = Object.entries(errors);
  return (
    <Stack gap="sm" data-testid="step-review">
      <Table fz="sm" withRowBorders={false} data-testid="review-table">
        <Table.Tbody>
          {rows.map(([k, v]) => (
            <Table.Tr key={k}>
              <Table.Td w={160} c="dimmed">
                {k}
              </Table.Td>
              <Table.Td>{v}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {errs.length > 0 && (
        <Alert color="red" variant="light" title="Fix these settings first" data-testid="config-errors">
          <List size="sm">
            {errs.map(([k, v]) => (
              <List.Item key={k}>
                {k}: {v}
              </List.Item>
            ))}
          </List>
        </Alert>
      )}
    </Stack>
  );
}
