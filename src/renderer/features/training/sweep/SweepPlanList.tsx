/** The runs a sweep will make, before it starts: configuration, fold and rough time of each, and the total. */
import { ScrollArea, Table, Text } from '@mantine/core';
import type { SweepPlan } from '../../../../shared/domain';
import { roughDuration } from './sweep-form';

export function SweepPlanList({ plan }: { plan: SweepPlan }) {
  return (
    <div data-testid="sweep-planned">
      <Text size="sm" fw={600}>
        {plan.runs.length} run{plan.runs.length === 1 ? '' : 's'}: {plan.configurations} configuration{plan.configurations === 1 ? '' : 's'}
        {plan.folds ? ` × ${plan.folds} folds` : ''} on {plan.images} labelled images · about {roughDuration(plan.estimate.seconds)}
      </Text>
      <Text size="xs" c="dimmed">
        {plan.estimate.source}
      </Text>
      {plan.grouping && (
        <Text size="xs" c={plan.grouping.audited ? 'dimmed' : 'orange'} data-testid="sweep-fold-grouping">
          {plan.grouping.text}
        </Text>
      )}
      <ScrollArea.Autosize mah={220}>
        <Table striped withRowBorders={false} fz="xs">
          <Table.Tbody>
            {plan.runs.map((r) => (
              <Table.Tr key={r.index} data-testid="sweep-planned-run">
                <Table.Td>{r.index + 1}</Table.Td>
                <Table.Td>{r.label}</Table.Td>
                <Table.Td>{r.fold === null ? '' : `fold ${r.fold + 1}/${plan.folds}`}</Table.Td>
                <Table.Td>~{roughDuration(r.estimateSeconds)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </ScrollArea.Autosize>
    </div>
  );
}
