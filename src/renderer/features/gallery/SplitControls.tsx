/** Auto split (stratified, seeded) and moving the selection to a split. */
import { useState } from 'react';
import { Button, Group, Menu, NumberInput, Popover, Stack, Text } from '@mantine/core';
import { SPLITS, type Split, type SplitSummary } from '../../../shared/domain';
import { StudioError } from '../../../shared/errors';
import { api } from '../../api/client';
import { ErrorText } from '../../components/ErrorText';

export const SPLIT_NAMES: Record<Split, string> = { train: 'Train', val: 'Validation', test: 'Test' };

export function AutoSplitButton() {
  const [val, setVal] = useState<number>(0.2);
  const [seed, setSeed] = useState<number>(42);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<SplitSummary>();
  const [error, setError] = useState<StudioError>();
  const run = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      setResult(await api.call('autoSplit', { val, seed }));
    } catch (err) {
      setError(StudioError.from(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Popover width={300} position="bottom-end" withArrow trapFocus>
      <Popover.Target>
        <Button size="xs" variant="default" data-testid="auto-split">
          Auto split…
        </Button>
      </Popover.Target>
      <Popover.Dropdown>
        <Stack gap="xs">
          <Text size="xs" c="dimmed">
            Splits the labelled images into train and validation class by class. Test and unlabelled images are not touched; the same seed gives the same split.
          </Text>
          <NumberInput
            size="xs"
            label="Validation fraction"
            min={0}
            max={0.9}
            step={0.05}
            decimalScale={2}
            value={val}
            onChange={(v) => setVal(typeof v === 'number' ? v : Number(v) || 0)}
            data-testid="split-val"
          />
          <NumberInput size="xs" label="Seed" min={0} max={2 ** 31 - 1} step={1} allowDecimal={false} value={seed} onChange={(v) => setSeed(typeof v === 'number' ? v : Number(v) || 0)} data-testid="split-seed" />
          <Button size="xs" loading={busy} onClick={() => void run()} data-testid="split-run">
            Split
          </Button>
          <ErrorText error={error} />
          {result && (
            <Text size="xs" data-testid="split-result">
              {result.train} train · {result.val} validation across {result.perClass.length} classes (seed {seed})
            </Text>
          )}
        </Stack>
      </Popover.Dropdown>
    </Popover>
  );
}

export function MoveToSplitMenu({ count, onMove }: { count: number; onMove: (split: Split) => void }) {
  return (
    <Menu position="bottom-end" withinPortal>
      <Menu.Target>
        <Button size="xs" variant="default" disabled={count === 0} data-testid="move-split">
          Move to split…
        </Button>
      </Menu.Target>
      <Menu.Dropdown>
        <Menu.Label>
          <Group gap={4}>{count} selected</Group>
        </Menu.Label>
        {SPLITS.map((s) => (
          <Menu.Item key={s} onClick={() => onMove(s)}>
            {SPLIT_NAMES[s]}
          </Menu.Item>
        ))}
      </Menu.Dropdown>
    </Menu>
  );
}
