/**
 * Near-duplicates and leaks: the latest audit's clusters of near-identical images, largest
 * first, with the distances of their pairs. A cluster whose images sit in more than one split is
 * a leak (the same picture scored in test as was trained on); one whose labels disagree is a
 * label conflict. Two actions per cluster, both undoable (Ctrl+Z, the one history): keep one image
 * and remove the others from the project, or move them all into one split.
 */
import { useState } from 'react';
import { Badge, Button, Card, Group, SegmentedControl, Select, Stack, Text, Tooltip } from '@mantine/core';
import { DOUBTFUL_MARGIN, SPLITS, describeDuplicatePair, type ClassInfo, type DuplicateClusterInfo, type Split } from '../../../shared/domain';
import { StudioError } from '../../../shared/errors';
import { api, fileUrl } from '../../api/client';
import { useQuery } from '../../api/hooks';
import { ErrorText } from '../../components/ErrorText';
import { applyChange } from '../../components/labels';

const PAGE = 20;
const THUMB = 112;
type Only = 'all' | 'leaks' | 'conflicts';
const SPLIT_TEXT: Record<Split, string> = { train: 'training', val: 'validation', test: 'test' };

/** The member to keep by default: a test image where there is one (the host never removes test images), else the first. */
export function defaultKeep(c: DuplicateClusterInfo): number {
  return (c.members.find((m) => m.split === 'test') ?? c.members[0])!.imageId;
}

/** The split to move a leak into by default: where most of its members are, test first on ties (test images stay where the competition put them). */
export function defaultSplit(c: DuplicateClusterInfo): Split {
  const counts = new Map<Split, number>();
  for (const m of c.members) counts.set(m.split, (counts.get(m.split) ?? 0) + 1);
  if (counts.has('test')) return 'test';
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'train';
}


function Cluster({ c, classById, onDone, onError }: { c: DuplicateClusterInfo; classById: Map<number, ClassInfo>; onDone: (msg: string) => void; onError: (e: unknown) => void }) {
  const [keep, setKeep] = useState(() => defaultKeep(c));
  const [split, setSplit] = useState<Split>(() => defaultSplit(c));
  const [busy, setBusy] = useState(false);
  const names = new Map(c.members.map((m) => [m.imageId, m.fileName]));
  const kept = c.members.find((m) => m.imageId === keep) ?? c.members[0]!;

  const act = (p: Promise<string>): void => {
    setBusy(true);
    p.then(onDone, onError).finally(() => setBusy(false));
  };
  const keepOne = (): void =>
    act(
      applyChange(async () => {
        const r = await api.call('keepOne', { clusterId: c.id, keepImageId: kept.imageId });
        return { result: r.removed, undo: { kind: 'undo-removal', removalId: r.removalId, clusterId: c.id, keepImageId: kept.imageId } };
      }).then((n) => `Kept ${kept.fileName}; ${n} near-duplicate${n === 1 ? '' : 's'} removed from the project (Ctrl+Z puts ${n === 1 ? 'it' : 'them'} back)`),
    );
  const moveAll = (): void =>
    act(
      applyChange(async () => {
        const r = await api.call('moveClusterToSplit', { clusterId: c.id, split });
        return { result: r.changed, undo: { kind: 'splits', groups: r.previous } };
      }).then((n) => `${n} image${n === 1 ? '' : 's'} moved to ${SPLIT_TEXT[split]}`),
    );

  return (
    <Card withBorder padding="xs" data-testid="cluster" data-cluster-id={c.id} data-leak={c.leak} data-conflict={c.conflict} data-size={c.size} style={c.leak ? { borderColor: 'var(--mantine-color-red-filled)', borderWidth: 2 } : undefined}>
      <Stack gap={6}>
        <Group gap="xs">
          <Text size="sm" fw={600}>
            {c.size} near-identical images
          </Text>
          {c.leak && (
            <Badge color="red" data-testid="cluster-leak">
              leak: {c.splits.map((s) => SPLIT_TEXT[s]).join(' + ')}
            </Badge>
          )}
          {c.conflict && (
            <Badge color="orange" data-testid="cluster-conflict">
              labels disagree
            </Badge>
          )}
          {!c.leak && (
            <Text size="xs" c="dimmed">
              all in {SPLIT_TEXT[c.splits[0] ?? 'train']}
            </Text>
          )}
        </Group>
        <Group gap="xs" wrap="wrap" role="radiogroup" aria-label="The image to keep">
          {c.members.map((m) => {
            const cls = m.classId !== null ? classById.get(m.classId) : undefined;
            const isKept = m.imageId === kept.imageId;
            return (
              <div
                key={m.imageId}
                role="radio"
                aria-checked={isKept}
                tabIndex={0}
                aria-label={`${m.fileName}, ${SPLIT_TEXT[m.split]}, ${m.className ?? 'unlabelled'}${isKept ? ', kept' : ''}`}
                data-testid="cluster-member"
                data-image-id={m.imageId}
                data-split={m.split}
                data-class={m.className ?? ''}
                onClick={() => setKeep(m.imageId)}
                onKeyDown={(e) => {
                  if (e.key === ' ' || e.key === 'Enter') {
                    e.preventDefault();
                    setKeep(m.imageId);
                  }
                }}
                style={{ width: THUMB, cursor: 'pointer', border: `2px solid ${isKept ? 'var(--mantine-color-blue-filled)' : 'transparent'}`, borderRadius: 6, padding: 2 }}
              >
                <img src={fileUrl('thumb', m.imageId)} alt="" style={{ width: '100%', height: THUMB - 30, objectFit: 'contain', display: 'block' }} />
                <Text size="10px" truncate title={m.fileName}>
                  {m.fileName}
                </Text>
                <Group gap={4} wrap="nowrap">
                  <Badge size="xs" variant={m.split === 'test' ? 'filled' : 'light'} color={m.split === 'test' ? 'grape' : m.split === 'val' ? 'yellow' : 'indigo'}>
                    {m.split}
                  </Badge>
                  <Text size="10px" truncate style={{ borderLeft: `4px solid ${cls?.color ?? 'transparent'}`, paddingLeft: 3 }}>
                    {m.className ?? 'unlabelled'}
                  </Text>
                </Group>
              </div>
            );
          })}
        </Group>
        <Stack gap={0} data-testid="cluster-pairs">
          {c.pairs.map((p) => (
            <Text key={`${p.a}-${p.b}`} size="10px" c={p.margin < DOUBTFUL_MARGIN ? 'orange' : 'dimmed'} data-testid="cluster-pair" data-match={p.match} data-doubtful={p.margin < DOUBTFUL_MARGIN}>
              {names.get(p.a)} ↔ {names.get(p.b)}: {describeDuplicatePair(p)}
            </Text>
          ))}
        </Stack>
        <Group gap="xs">
          <Tooltip label="Removes the other images from the project (their files stay on disk); Ctrl+Z puts them back">
            <Button size="compact-xs" variant="light" onClick={keepOne} loading={busy} data-testid="keep-one">
              Keep {kept.fileName}, remove {c.size - 1}
            </Button>
          </Tooltip>
          <Group gap={4}>
            <Select size="xs" w={120} aria-label="Split to move all to" value={split} onChange={(v) => v && setSplit(v as Split)} data={SPLITS.map((s) => ({ value: s, label: SPLIT_TEXT[s] }))} allowDeselect={false} data-testid="move-split-choice" />
            <Button size="compact-xs" variant="light" onClick={moveAll} loading={busy} disabled={c.splits.length === 1 && c.splits[0] === split} data-testid="move-split">
              Move all to {SPLIT_TEXT[split]}
            </Button>
          </Group>
        </Group>
      </Stack>
    </Card>
  );
}

export function Duplicates({ classes, leaks, conflicts, clusters }: { classes: ClassInfo[]; leaks: number; conflicts: number; clusters: number }) {
  const [only, setOnly] = useState<Only>(leaks > 0 ? 'leaks' : 'all');
  const [page, setPage] = useState(0);
  const [error, setError] = useState<StudioError>();
  const [notice, setNotice] = useState('');
  const q = useQuery('listDuplicateClusters', { only, offset: page * PAGE, limit: PAGE }, ['audit', 'images', 'classes']);
  const total = q.data?.total ?? 0;
  const pages = Math.max(1, Math.ceil(total / PAGE));
  const classById = new Map(classes.map((c) => [c.id, c]));
  return (
    <Stack gap="xs" data-testid="duplicates">
      <Group gap="xs">
        <SegmentedControl
          size="xs"
          value={only}
          onChange={(v) => {
            setOnly(v as Only);
            setPage(0);
          }}
          data={[
            { value: 'leaks', label: `Leaks ${leaks}` },
            { value: 'conflicts', label: `Label conflicts ${conflicts}` },
            { value: 'all', label: `All clusters ${clusters}` },
          ]}
          data-testid="cluster-filter"
        />
        <Text size="xs" c="dimmed" aria-live="polite" data-testid="duplicates-status">
          {total} cluster{total === 1 ? '' : 's'}
          {notice ? ` · ${notice}` : ''}
        </Text>
      </Group>
      <ErrorText error={error ?? q.error} />
      {q.data && total === 0 && (
        <Text c="dimmed" size="sm" data-testid="clusters-empty">
          {only === 'leaks' ? 'No near-duplicates cross the splits.' : only === 'conflicts' ? 'No near-duplicates with disagreeing labels.' : 'No near-duplicates found.'}
        </Text>
      )}
      {(q.data?.rows ?? []).map((c) => (
        <Cluster
          key={`${c.id}-${c.size}-${c.splits.join()}`}
          c={c}
          classById={classById}
          onDone={(msg) => {
            setNotice(msg);
            setError(undefined);
          }}
          onError={(e) => setError(StudioError.from(e))}
        />
      ))}
      {pages > 1 && (
        <Group gap="xs">
          <Button size="compact-xs" variant="default" disabled={page === 0} onClick={() => setPage(page - 1)}>
            Previous
          </Button>
          <Text size="xs">
            page {page + 1}/{pages}
          </Text>
          <Button size="compact-xs" variant="default" disabled={page >= pages - 1} onClick={() => setPage(page + 1)}>
            Next
          </Button>
        </Group>
      )}
    </Stack>
  );
}
