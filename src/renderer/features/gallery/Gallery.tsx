/**
 * The gallery screen: filters, sort, thumbnail size, the virtualized grid, bulk tagging with undo,
 * splits, import and preview. Rows come page by page from SQLite (listImages); nothing ever loads the
 * whole listing. The keyboard (useGalleryKeyboard.ts), the mouse on tiles (tile-pointer.ts) and
 * imports with their report (useImports.ts) live in files of their own.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { ActionIcon, Button, Center, Group, SegmentedControl, Select, Slider, Stack, Text, TextInput, Tooltip } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import type { ClassInfo, ImageFilter, ImageSort, ProjectCounts, Split } from '../../../shared/domain';
import { StudioError } from '../../../shared/errors';
import { api } from '../../api/client';
import * as bulk from '../../api/bulk';
import { ErrorText } from '../../components/ErrorText';
import { ImageGrid, type GridLayout } from './ImageGrid';
import { ImportDialog } from './ImportDialog';
import { ImportReportModal } from './ImportReportModal';
import { MovedSources } from './MovedSources';
import { applyLabels, bindLabelHistory, redoLabels, replaceLabelHistory, undoLabels, useLabelHistory } from '../../components/labels';
import { forgetClasses } from '../../components/label-history';
import { bindImageSelection, selectedImages, setSelectedImages } from '../../components/image-selection';
import { PreviewModal } from './PreviewModal';
import { EMPTY_SELECTION, type Selection, selectAll, selectOne } from './selection';
import { AutoSplitButton, MoveToSplitMenu, SPLIT_NAMES } from './SplitControls';
import { useImagePages } from './useImagePages';
import { gridKeyHandler, useUndoKeys } from './useGalleryKeyboard';
import { useImports } from './useImports';
import { tilePointerHandlers } from './tile-pointer';

type ClassFilter = 'all' | 'unlabelled' | `${number}`;
type SplitFilter = 'all' | Split;

export function Gallery({ counts, projectDir }: { counts: ProjectCounts; projectDir: string }) {
  bindLabelHistory(projectDir);
  bindImageSelection(projectDir);
  const [classFilter, setClassFilter] = useState<ClassFilter>('all');
  const [splitFilter, setSplitFilter] = useState<SplitFilter>('all');
  const [nameInput, setNameInput] = useState('');
  const [name] = useDebouncedValue(nameInput.trim(), 250);
  const [sort, setSort] = useState<ImageSort>({ by: 'imported', desc: false });
  const [size, setSize] = useState(140);
  // The selection starts as the one shared with other screens (e.g. lassoed on the Audit screen's map).
  const [sel, setSel] = useState<Selection>(() => ({ ...EMPTY_SELECTION, ids: selectedImages() }));
  const [focusNonce, setFocusNonce] = useState(0);
  const [preview, setPreview] = useState(false);
  const [error, setError] = useState<StudioError>();
  const [notice, setNotice] = useState('');
  const layout = useRef<GridLayout>({ columns: 1, visibleRows: 1 });
  const history = useLabelHistory();

  const filter = useMemo<ImageFilter>(() => {
    const f: ImageFilter = {};
    if (classFilter === 'unlabelled') f.classId = 'unlabelled';
    else if (classFilter !== 'all') f.classId = Number(classFilter);
    if (splitFilter !== 'all') f.split = splitFilter;
    if (name) f.name = name;
    return f;
  }, [classFilter, splitFilter, name]);

  const pages = useImagePages(filter, sort);
  const { cache } = pages;
  const total = pages.total ?? 0;

  // A new listing: the old positions mean nothing in it (the first listing keeps the shared selection).
  const firstCache = useRef(cache);
  useEffect(() => {
    if (cache !== firstCache.current) setSel(EMPTY_SELECTION);
  }, [cache]);
  useEffect(() => setSelectedImages(sel.ids), [sel.ids]);

  const classList: ClassInfo[] = counts.byClass;
  const classById = useMemo(() => new Map(classList.map((c) => [c.id, c])), [classList]);

  // A class that was deleted or merged away can no longer be restored by undo.
  useEffect(() => {
    replaceLabelHistory((h) => forgetClasses(h, new Set(classList.map((c) => c.id))));
    if (classFilter !== 'all' && classFilter !== 'unlabelled' && !classById.has(Number(classFilter))) setClassFilter('all');
  }, [classList, classById, classFilter]);

  const fail = (err: unknown): void => setError(StudioError.from(err));
  const run = (p: Promise<unknown>): void => {
    p.then(() => setError(undefined), fail);
  };
  const say = (text: string): void => setNotice(text);
  const imports = useImports({ say, fail });

  const selectedIds = (): number[] => {
    if (sel.ids.size > 0) return [...sel.ids];
    const row = sel.focus !== null ? cache.get(sel.focus) : undefined;
    return row ? [row.id] : [];
  };

  const label = (classId: number | null): void => {
    const ids = selectedIds();
    if (ids.length === 0) return;
    const cls = classId === null ? undefined : classById.get(classId);
    run(applyLabels(ids, classId).then((n) => say(`${n} image${n === 1 ? '' : 's'} ${cls ? `labelled ${cls.name}` : 'unlabelled'}`)));
  };
  const undo = (): void => run(undoLabels().then((ok) => say(ok ? 'Undone' : 'Nothing to undo')));
  const redo = (): void => run(redoLabels().then((ok) => say(ok ? 'Redone' : 'Nothing to redo')));

  const moveSplit = (split: Split): void => {
    const ids = selectedIds();
    run(bulk.setSplit(ids, split).then((r) => say(`${r.changed} moved to ${SPLIT_NAMES[split].toLowerCase()}`)));
  };

  const doSelectAll = (): void => {
    run(
      api.call('imageIds', { filter }).then((ids) => {
        setSel((s) => selectAll(s, ids));
        say(`${ids.length} selected`);
      }),
    );
  };

  const requestFocus = (): void => setFocusNonce((n) => n + 1);

  const { onTileClick, onTileDragStart } = tilePointerHandlers(sel, setSel, cache);

  const onKeyDown = gridKeyHandler({
    sel,
    setSel,
    cache,
    total,
    layout,
    classList,
    label,
    selectAll: doSelectAll,
    say,
    togglePreview: () => setPreview((p) => !p),
    requestFocus,
  });
  useUndoKeys(undo, redo);

  const onLayout = useCallback((l: GridLayout) => {
    layout.current = l;
  }, []);

  const focusedRow = sel.focus !== null ? cache.get(sel.focus) : undefined;
  const stepPreview = (delta: number): void => {
    if (sel.focus === null) return;
    const to = Math.max(0, Math.min(total - 1, sel.focus + delta));
    const row = cache.get(to);
    if (row) setSel((s) => selectOne(s, to, row.id));
    cache.ensure(Math.max(0, to - 50), to + 50);
    requestFocus();
  };

  const filtered = classFilter !== 'all' || splitFilter !== 'all' || !!name;
  const classOptions = [
    { value: 'all', label: 'All classes' },
    { value: 'unlabelled', label: `Unlabelled (${counts.unlabelled})` },
    ...classList.map((c) => ({ value: String(c.id), label: `${c.name} (${counts.byClass.find((x) => x.id === c.id)?.total ?? 0})` })),
  ];

  return (
    <Stack gap="xs" h="calc(100dvh - var(--app-shell-header-offset, 0px) - var(--app-shell-footer-offset, 0px) - 2 * var(--mantine-spacing-md))" data-testid="gallery">
      <Group gap="xs" wrap="wrap" justify="space-between">
        <Group gap="xs" wrap="wrap">
          <Select
            size="xs"
            w={190}
            aria-label="Filter by class"
            data={classOptions}
            value={classFilter}
            onChange={(v) => setClassFilter((v ?? 'all') as ClassFilter)}
            allowDeselect={false}
            data-testid="filter-class"
          />
          <SegmentedControl
            size="xs"
            aria-label="Filter by split"
            value={splitFilter}
            onChange={(v) => setSplitFilter(v as SplitFilter)}
            data={[
              { value: 'all', label: `All ${counts.total}` },
              { value: 'train', label: `Train ${counts.bySplit.train}` },
              { value: 'val', label: `Val ${counts.bySplit.val}` },
              { value: 'test', label: `Test ${counts.bySplit.test}` },
            ]}
            data-testid="filter-split"
          />
          <TextInput size="xs" w={160} placeholder="File name contains…" aria-label="Filter by file name" value={nameInput} onChange={(e) => setNameInput(e.currentTarget.value)} data-testid="filter-name" />
          <Select
            size="xs"
            w={140}
            aria-label="Sort by"
            data={[
              { value: 'imported', label: 'Import order' },
              { value: 'name', label: 'File name' },
              { value: 'class', label: 'Class' },
            ]}
            value={sort.by}
            onChange={(v) => v && setSort((s) => ({ ...s, by: v as ImageSort['by'] }))}
            allowDeselect={false}
            data-testid="sort"
          />
          <Tooltip label={sort.desc ? 'Descending' : 'Ascending'}>
            <ActionIcon variant="default" size="md" aria-label={sort.desc ? 'Sort descending' : 'Sort ascending'} onClick={() => setSort((s) => ({ ...s, desc: !s.desc }))}>
              {sort.desc ? '↓' : '↑'}
            </ActionIcon>
          </Tooltip>
          <Group gap={4} wrap="nowrap" w={150}>
            <Text size="xs" c="dimmed">
              Size
            </Text>
            <Slider size="xs" min={64} max={256} step={8} value={size} onChange={setSize} style={{ flex: 1 }} label={null} aria-label="Thumbnail size" data-testid="tile-size" />
          </Group>
        </Group>
        <Group gap="xs">
          <Tooltip label="Undo labelling (Ctrl+Z)">
            <ActionIcon variant="default" size="md" aria-label="Undo" disabled={history.undo.length === 0} onClick={undo} data-testid="undo">
              ↶
            </ActionIcon>
          </Tooltip>
          <Tooltip label="Redo (Ctrl+Shift+Z)">
            <ActionIcon variant="default" size="md" aria-label="Redo" disabled={history.redo.length === 0} onClick={redo} data-testid="redo">
              ↷
            </ActionIcon>
          </Tooltip>
          <MoveToSplitMenu count={sel.ids.size} onMove={moveSplit} />
          <AutoSplitButton />
          <Button size="xs" onClick={imports.openDialog} loading={!!imports.running} data-testid="import-open">
            Import…
          </Button>
        </Group>
      </Group>
      <ErrorText error={error ?? (pages.error ? StudioError.from(pages.error) : undefined)} />
      <MovedSources />
      {imports.dropping && (
        <Center
          pos="fixed"
          inset={0}
          style={{ zIndex: 300, pointerEvents: 'none', background: 'color-mix(in srgb, var(--mantine-color-body) 70%, transparent)', outline: '3px dashed var(--mantine-color-blue-filled)', outlineOffset: -12 }}
          data-testid="drop-hint"
        >
          <Text size="lg" c="blue" fw={600}>
            Drop files or folders to import them
          </Text>
        </Center>
      )}
      {pages.total === 0 && !filtered ? (
        <Stack align="center" justify="center" style={{ flex: 1 }} data-testid="gallery-empty">
          <Text c="dimmed">No images yet. Import a folder with one subfolder per class, a CSV, a zip or loose files.</Text>
          <Button onClick={imports.openDialog}>Import images…</Button>
        </Stack>
      ) : (
        <ImageGrid
          cache={cache}
          total={total}
          size={size}
          classById={classById}
          selected={sel.ids}
          focus={sel.focus}
          focusNonce={focusNonce}
          onLayout={onLayout}
          onTileClick={onTileClick}
          onTileDoubleClick={(i) => {
            const row = cache.get(i);
            if (!row) return;
            setSel((s) => selectOne(s, i, row.id));
            setPreview(true);
          }}
          onTileDragStart={onTileDragStart}
          onKeyDown={onKeyDown}
          label="Images"
        />
      )}
      <Group gap="md" justify="space-between">
        <Text size="xs" c="dimmed" data-testid="gallery-status" aria-live="polite">
          {pages.total === null ? 'Loading…' : `${total} image${total === 1 ? '' : 's'}${filtered ? ' in this filter' : ''}`} · <span data-testid="selected-count">{sel.ids.size}</span> selected
          {notice ? ` · ${notice}` : ''}
        </Text>
        <Text size="xs" c="dimmed">
          Click, Shift-click, Ctrl-click · arrows · 1–9 label · 0 unlabel · Space preview · Ctrl+A all · Ctrl+Z undo · drag onto a class
        </Text>
      </Group>
      <ImportDialog opened={imports.dialogOpen} hint={imports.hint} onClose={imports.closeDialog} onStarted={imports.onStarted} />
      {imports.report && <ImportReportModal job={imports.report} onClose={imports.closeReport} />}
      {preview && focusedRow && (
        <PreviewModal
          cache={cache}
          index={sel.focus ?? 0}
          total={total}
          classById={classById}
          onClose={() => {
            setPreview(false);
            requestFocus();
          }}
          onStep={stepPreview}
        />
      )}
    </Stack>
  );
}
