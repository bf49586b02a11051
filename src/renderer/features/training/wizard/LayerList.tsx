/**
 * The model's layers with what the chosen scenario freezes and trains. The choices (where scenario
 * 1 takes its features, where scenario 2's frozen part ends) and their parameter counts are the
 * advisor's plans; this list only shows them and lets the user pick another.
 */
import { Button, Group, ScrollArea, Slider, Stack, Table, Text } from '@mantine/core';
import type { LayerInfo, ModelPlans, Scenario } from '../../../../shared/domain';
import { formatCount } from '../../../components/format';

export function LayerList({
  layers,
  plans,
  scenario,
  boundary,
  onPick,
}: {
  layers: LayerInfo[];
  /** The advisor's plans for this model; undefined while it is asked. */
  plans: ModelPlans | null | undefined;
  scenario: Scenario;
  /** Scenario 1: the feature layer; scenario 2: the last frozen layer; '' for none. */
  boundary: string;
  onPick: (layer: string) => void;
}) {
  const choices = !plans ? [] : scenario === 1 ? plans.features : scenario === 2 ? plans.freeze : [];
  const at = choices.findIndex((c) => c.layer === boundary);
  const choice = choices[at];
  const split = scenario === 3 || scenario === 4 ? (plans ? { frozen: 0, trainable: plans.wholeParams } : null) : choice ? { frozen: choice.frozenParams, trainable: choice.trainableParams } : null;
  const bIndex = boundary ? layers.findIndex((l) => l.name === boundary) : -1;
  const pickable = new Set(choices.map((c) => c.layer));
  // The inspection names the block a boundary ends (e.g. "stage conv4, block 6"), where it knows one.
  const blockOf = (name: string | undefined): string | undefined => layers.find((l) => l.name === name)?.block;
  return (
    <Stack gap="xs" data-testid="layer-list">
      {split ? (
        <Group gap="lg">
          <Text size="sm" data-testid="frozen-params">
            Frozen: <b>{formatCount(split.frozen)}</b> parameters
            {scenario === 2 ? ` (k = ${at + 1} of ${choices.length} blocks${blockOf(boundary) ? `, up to ${blockOf(boundary)}` : ''})` : ''}
          </Text>
          <Text size="sm" data-testid="trainable-params">
            Trainable: <b>{formatCount(split.trainable)}</b> parameters of the network{scenario === 1 ? ' (it stays frozen: only the new head trains)' : ''}, plus the new head
          </Text>
        </Group>
      ) : (
        plans === undefined && (
          <Text size="sm" c="dimmed" data-testid="plans-pending">
            The advisor is counting what this scenario freezes and trains…
          </Text>
        )
      )}
      {choices.length > 1 && (
        <Stack gap={2}>
          <Text size="xs" c="dimmed">
            {scenario === 2 ? 'Drag the freeze boundary: everything up to it stays frozen.' : 'Where the features are taken from (the head is fed from this layer).'}
          </Text>
          <Slider
            min={0}
            max={choices.length - 1}
            step={1}
            value={Math.max(0, at)}
            onChange={(i) => onPick(choices[i]!.layer)}
            label={(i) => (blockOf(choices[i]?.layer) ? `${blockOf(choices[i]?.layer)} (${choices[i]?.layer})` : choices[i]?.layer)}
            marks={choices.map((_, i) => ({ value: i }))}
            aria-label={scenario === 2 ? 'Freeze boundary' : 'Feature layer'}
            data-testid="boundary-slider"
          />
        </Stack>
      )}
      <ScrollArea h={260} type="auto">
        <Table striped={false} highlightOnHover withRowBorders={false} fz="xs" stickyHeader>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>#</Table.Th>
              <Table.Th>Layer</Table.Th>
              <Table.Th>Type</Table.Th>
              <Table.Th>Output</Table.Th>
              <Table.Th ta="right">Params</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {layers.map((l, i) => {
              const frozen = (scenario === 1 || scenario === 2) && i <= bIndex;
              const unused = scenario === 1 && bIndex >= 0 && i > bIndex;
              return (
                <Table.Tr
                  key={l.name}
                  data-testid="layer-row"
                  data-layer={l.name}
                  data-frozen={frozen}
                  style={{ opacity: unused ? 0.4 : 1, background: frozen ? 'rgba(34,139,230,0.10)' : undefined, borderBottom: l.name === boundary ? '2px solid #228be6' : undefined }}
                >
                  <Table.Td>{i}</Table.Td>
                  <Table.Td>{l.name}</Table.Td>
                  <Table.Td>{l.className}</Table.Td>
                  <Table.Td>{l.outputShape.join('×')}</Table.Td>
                  <Table.Td ta="right">{formatCount(l.params)}</Table.Td>
                  <Table.Td>
                    {pickable.has(l.name) && (
                      <Button size="compact-xs" variant={l.name === boundary ? 'filled' : 'subtle'} onClick={() => onPick(l.name)} data-testid="set-boundary">
                        {scenario === 2 ? 'freeze to here' : 'features here'}
                      </Button>
                    )}
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      </ScrollArea>
    </Stack>
  );
}
