/**
 * Likely label errors: the latest audit's flagged images, likeliest first, each with its given
 * label, the suggested one and the score. Fix with the gallery's keys (1–9 a class, 0 unlabel),
 * Enter accepts the suggestion, C says "the label is right" (the audit never flags it again);
 * every change goes into the one undo history (Ctrl+Z / Ctrl+Shift+Z). A fixed or confirmed image
 * leaves the open list and the next one moves under the focus. Beside it, confident learning's
 * estimate of each class's noise rate.
 */
import { useRef, useState, type KeyboardEvent } from 'react';
import { Badge, Button, Group, SegmentedControl, Select, Stack, Table, Text, Tooltip } from '@mantine/core';
import type { AuditSummary, ClassInfo, IssueStatus, LabelIssueRow } from '../../../shared/domain';
import { ISSUE_STATUSES } from '../../../shared/domain';
import { fileUrl } from '../../api/client';
import * as bulk from '../../api/bulk';
import { useQuery } from '../../api/hooks';
import { ErrorText } from '../../components/ErrorText';
import { pct } from '../../components/format';
import { applyChange, applyLabels } from '../../components/labels';
import { Tile, TileGrid, useTileActions, type TileGridHandle } from '../../components/TileGrid';
import { isUnlabelKey } from '../../components/label-keys';

const PAGE = 60;
const TILE = 168;
type StatusFilter = (typeof ISSUE_STATUSES)[number];
const STATUS_TEXT: Record<IssueStatus, string> = { open: 'open', fixed: 'fixed', confirmed: 'label is right' };

/** "This label is right" for these images, undoable. */
export function confirmIssues(ids: readonly number[]): Promise<number> {
  return applyChange(async () => {
    const confirmed = await bulk.confirmLabels(ids, true);
    return { result: confirmed.length, undo: { kind: 'unconfirm', ids: confirmed } };
  });
}

function NoiseRates({ summary }: { summary: AuditSummary }) {
  const rates = [...summary.noiseRates].sort((a, b) => (b.rate ?? -1) - (a.rate ?? -1));
  return (
    <Stack gap={4} miw={240} data-testid="noise-rates">
      <Text size="sm" fw={600}>
        Estimated noise per class
      </Text>
      <Text size="xs" c="dimmed">
        The share of each class&apos;s images whose true label is likely another (confident learning).
      </Text>
      <Table fz="xs" withTableBorder>
        <Table.Tbody>
          {rates.map((r) => (
            <Table.Tr key={`${r.classId}-${r.className}`} data-testid="noise-rate" data-class-name={r.className} data-rate={r.rate ?? ''}>
              <Table.Td>{r.className}</Table.Td>
              <Table.Td ta="right" style={{ fontVariantNumeric: 'tabular-nums' }}>
                {r.images}
              </Table.Td>
              <Table.Td w={110}>
                <div style={{ height: 8, background: 'var(--mantine-color-default-hover)', borderRadius: 2 }}>
                  <div style={{ height: 8, width: `${Math.min(100, 100 * (r.rate ?? 0))}%`, background: 'var(--mantine-color-red-filled)', borderRadius: 2 }} />
                </div>
              </Table.Td>
              <Table.Td ta="right" style={{ fontVariantNumeric: 'tabular-nums' }}>
                {pct(r.rate)}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}

function IssueTile({ row, index, focused, onFocus, classById, onAccept, onConfirm }: { row: LabelIssueRow; index: number; focused: boolean; onFocus: () => void; classById: Map<number, ClassInfo>; onAccept: () => void; onConfirm: () => void }) {
  const given = row.givenClassId !== null ? classById.get(row.givenClassId) : undefined;
  const suggested = row.suggestedClassId !== null ? classById.get(row.suggestedClassId) : undefined;
  const now = row.classId !== null ? classById.get(row.classId) : undefined;
  const fixed = row.status === 'fixed';
  return (
    <Tile
      index={index}
      focused={focused}
      onFocus={onFocus}
      width={TILE}
      thumb={fileUrl('thumb', row.imageId)}
      testId="issue-tile"
      label={`${row.fileName}: labelled ${row.given}, likely ${row.suggested}, score ${row.score.toFixed(2)}, ${STATUS_TEXT[row.status]}`}
      data={{ 'image-id': row.imageId, given: row.given, suggested: row.suggested, score: row.score.toFixed(4), status: row.status }}
    >
      <Text size="xs" truncate title={row.fileName}>
        {row.fileName}
      </Text>
      <Group gap={4} wrap="nowrap" justify="space-between">
        <Text size="xs" truncate td={fixed ? 'line-through' : undefined} style={{ borderLeft: `4px solid ${given?.color ?? 'transparent'}`, paddingLeft: 3 }}>
          {row.given}
        </Text>
        <Text size="xs" fw={600} c="red" truncate style={{ borderRight: `4px solid ${suggested?.color ?? 'transparent'}`, paddingRight: 3 }}>
          → {row.suggested}
        </Text>
      </Group>
      <Group gap={4} justify="space-between" wrap="nowrap">
        <Tooltip label="p(given) − p(suggested), out of sample: the lower, the likelier the label is wrong">
          <Text size="10px" c="dimmed" data-testid="issue-score">
            score {row.score.toFixed(2)}
          </Text>
        </Tooltip>
        {row.status !== 'open' && (
          <Badge size="xs" color={row.status === 'fixed' ? 'green' : 'gray'} data-testid="issue-status">
            {fixed ? `now ${now?.name ?? 'unlabelled'}` : STATUS_TEXT[row.status]}
          </Badge>
        )}
      </Group>
      {row.status === 'open' && (
        <Group gap={4} mt={2} wrap="nowrap">
          <Button size="compact-xs" variant="light" color="red" onClick={onAccept} disabled={row.suggestedClassId === null} data-testid="issue-accept" style={{ flex: 1 }}>
            Use {row.suggested}
          </Button>
          <Tooltip label="The label is right (C)">
            <Button size="compact-xs" variant="default" onClick={onConfirm} data-testid="issue-confirm" aria-label={`${row.fileName}: the label ${row.given} is right`}>
              ✓
            </Button>
          </Tooltip>
        </Group>
      )}
    </Tile>
  );
}

export function LabelIssues({ summary, classes }: { summary: AuditSummary; classes: ClassInfo[] }) {
  const [status, setStatus] = useState<StatusFilter>('open');
  const [given, setGiven] = useState<string | null>(null);
  const [page, setPage] = useState(0);
  const grid = useRef<TileGridHandle>(null);
  const { notice, error, run, digit } = useTileActions(grid);
  const query = { status, offset: page * PAGE, limit: PAGE, ...(given ? { givenClassId: Number(given) } : {}) };
  const q = useQuery('listLabelIssues', query, ['audit', 'images', 'classes']);
  const rows = q.data?.rows ?? [];
  const total = q.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE));
  const classById = new Map(classes.map((c) => [c.id, c]));

  const label = (row: LabelIssueRow, classId: number | null): void => {
    const cls = classId === null ? undefined : classById.get(classId);
    run(applyLabels([row.imageId], classId).then(() => `${row.fileName} ${cls ? `labelled ${cls.name}` : 'unlabelled'}`));
  };
  const accept = (row: LabelIssueRow): void => {
    if (row.suggestedClassId !== null) label(row, row.suggestedClassId);
  };
  const confirm = (row: LabelIssueRow): void => run(confirmIssues([row.imageId]).then((n) => (n > 0 ? `${row.fileName}: ${row.given} kept as right` : `${row.fileName} has no label to confirm`)));

  const onKey = (e: KeyboardEvent, row: LabelIssueRow): boolean => {
    if (digit(e.key, classes, (cls) => label(row, cls.id))) return true;
    if (isUnlabelKey(e.key)) {
      label(row, null);
      return true;
    }
    if (e.key === 'Enter') {
      accept(row);
      return true;
    }
    if (e.key === 'c' || e.key === 'C') {
      confirm(row);
      return true;
    }
    return false;
  };

  return (
    <Group align="flex-start" gap="lg" wrap="nowrap" data-testid="label-issues">
      <Stack gap="xs" style={{ flex: 1 }}>
        <Group gap="xs">
          <SegmentedControl
            size="xs"
            value={status}
            onChange={(v) => {
              setStatus(v as StatusFilter);
              setPage(0);
            }}
            data={[
              { value: 'open', label: `Open ${summary.openIssues}` },
              { value: 'fixed', label: 'Fixed' },
              { value: 'confirmed', label: 'Label is right' },
              { value: 'all', label: `All ${summary.flagged}` },
            ]}
            data-testid="issue-status-filter"
          />
          <Select
            size="xs"
            w={180}
            placeholder="Any given label"
            clearable
            aria-label="Given label"
            value={given}
            onChange={(v) => {
              setGiven(v);
              setPage(0);
            }}
            data={classes.map((c) => ({ value: String(c.id), label: c.name }))}
          />
        </Group>
        <ErrorText error={error ?? q.error} />
        {q.data && total === 0 ? (
          <Text c="dimmed" size="sm" data-testid="issues-empty">
            {status === 'open' ? 'No open label issues: every flagged image was fixed or confirmed, or none was flagged.' : 'Nothing here.'}
          </Text>
        ) : (
          <TileGrid
            handle={grid}
            rows={rows}
            keyOf={(r) => r.imageId}
            tileWidth={TILE}
            label="Likely label errors"
            testId="issue-grid"
            page={page}
            pages={pages}
            onPage={setPage}
            onKey={onKey}
            status={` · ${total} image${total === 1 ? '' : 's'}${notice ? ` · ${notice}` : ''}`}
            render={(row, i, focused, focus) => (
              <IssueTile row={row} index={i} focused={focused} onFocus={focus} classById={classById} onAccept={() => accept(row)} onConfirm={() => confirm(row)} />
            )}
          />
        )}
        <Text size="xs" c="dimmed">
          arrows · Enter use the suggestion · C the label is right · 1–9 label ({classes.slice(0, 9).map((c, i) => `${i + 1} ${c.name}`).join(', ')}) · 0 unlabel · Ctrl+Z undo
        </Text>
      </Stack>
      <NoiseRates summary={summary} />
    </Group>
  );
}
