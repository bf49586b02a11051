/** The classes of the project: counts, a balance bar, add, rename, recolour, delete. */
import { useState } from 'react';
import { ActionIcon, Box, ColorInput, Group, Menu, Stack, Text, TextInput, Title, Tooltip } from '@mantine/core';
import type { ClassCount, ProjectCounts } from '../../../shared/domain';
import { StudioError } from '../../../shared/errors';
import { formulaWarning } from '../../../shared/names';
import { api } from '../../api/client';
import { ErrorText } from '../../components/ErrorText';
import { draggedImages, endImageDrag, isImageDrag } from '../../components/image-drag';
import { applyLabels } from '../../components/labels';

function BalanceBar({ counts }: { counts: ProjectCounts }) {
  const labelled = counts.byClass.reduce((s, c) => s + c.total, 0);
  if (labelled === 0) return null;
  return (
    <Group gap={0} h={8} wrap="nowrap" style={{ borderRadius: 4, overflow: 'hidden' }} aria-label="Class balance" data-testid="balance-bar">
      {counts.byClass.map((c) => (
        <Tooltip key={c.id} label={`${c.name}: ${c.total}`}>
          <Box h="100%" style={{ width: `${(100 * c.total) / labelled}%`, background: c.color }} />
        </Tooltip>
      ))}
    </Group>
  );
}

function ClassRow({ c, index, others, onError }: { c: ClassCount; index: number; others: ClassCount[]; onError: (e: StudioError | undefined) => void }) {
  const [editing, setEditing] = useState(false);
  const [dropping, setDropping] = useState(false);
  const [name, setName] = useState(c.name);
  const run = (p: Promise<unknown>): void => {
    p.then(() => onError(undefined), (err: unknown) => onError(StudioError.from(err)));
  };
  return (
    <Group
      gap="xs"
      wrap="nowrap"
      justify="space-between"
      data-testid="class-row"
      data-class-name={c.name}
      data-class-id={c.id}
      // Drop images dragged from the gallery to label them with this class (undoable there).
      onDragOver={(e) => {
        if (!isImageDrag(e)) return;
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
        setDropping(true);
      }}
      onDragLeave={() => setDropping(false)}
      onDrop={(e) => {
        setDropping(false);
        if (!isImageDrag(e)) return;
        e.preventDefault();
        run(applyLabels(draggedImages(), c.id));
        endImageDrag();
      }}
      data-dropping={dropping || undefined}
      style={dropping ? { outline: `2px dashed ${c.color}`, borderRadius: 4 } : undefined}
    >
      <Group gap={6} wrap="nowrap" style={{ minWidth: 0 }}>
        <Box w={12} h={12} style={{ borderRadius: 6, background: c.color, flex: 'none' }} />
        {editing ? (
          <TextInput
            size="xs"
            autoFocus
            value={name}
            aria-label="Class name"
            onChange={(e) => setName(e.currentTarget.value)}
            onBlur={() => setEditing(false)}
            onKeyDown={(e) => {
              if (e.key === 'Enter') {
                run(api.call('updateClass', { id: c.id, name }));
                setEditing(false);
              }
              if (e.key === 'Escape') setEditing(false);
            }}
          />
        ) : (
          <Text size="sm" truncate onDoubleClick={() => setEditing(true)} title={`${c.name} — key ${index + 1 <= 9 ? index + 1 : '–'}`}>
            {index < 9 && (
              <Text span c="dimmed" size="xs" mr={4}>
                {index + 1}
              </Text>
            )}
            {c.name}
          </Text>
        )}
      </Group>
      <Group gap={4} wrap="nowrap">
        <Text size="xs" c="dimmed" data-testid="class-count">
          {c.total}
        </Text>
        {/* returnFocus off: the rename field takes the focus when the menu closes. */}
        <Menu position="right-start" withinPortal returnFocus={false}>
          <Menu.Target>
            <ActionIcon size="sm" variant="subtle" aria-label={`Actions for ${c.name}`}>
              ⋯
            </ActionIcon>
          </Menu.Target>
          <Menu.Dropdown>
            <Menu.Item onClick={() => setEditing(true)}>Rename</Menu.Item>
            <Box p="xs">
              <ColorInput size="xs" label="Colour" defaultValue={c.color} format="hex" onChangeEnd={(color) => run(api.call('updateClass', { id: c.id, color }))} />
            </Box>
            {others.length > 1 && <Menu.Label>Merge into</Menu.Label>}
            {others
              .filter((o) => o.id !== c.id)
              .map((o) => (
                <Menu.Item
                  key={o.id}
                  leftSection={<Box w={10} h={10} style={{ borderRadius: 5, background: o.color }} />}
                  onClick={() =>
                    window.confirm(`Merge "${c.name}" into "${o.name}"? Its ${c.total} images become ${o.name} and "${c.name}" is deleted.`) &&
                    run(api.call('mergeClasses', { from: c.id, into: o.id }))
                  }
                  data-testid="merge-into"
                >
                  {o.name}
                </Menu.Item>
              ))}
            <Menu.Divider />
            <Menu.Item color="red" onClick={() => window.confirm(`Delete class "${c.name}"? Its ${c.total} images become unlabelled.`) && run(api.call('deleteClass', { id: c.id }))}>
              Delete
            </Menu.Item>
          </Menu.Dropdown>
        </Menu>
      </Group>
    </Group>
  );
}

export function ClassesPanel({ counts }: { counts: ProjectCounts }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<StudioError>();
  const formulaNames = formulaWarning(counts.byClass.map((c) => c.name));
  const add = (): void => {
    const wanted = name.trim();
    if (!wanted) return;
    setName(''); // clear at once so the next name can be typed while this one is saved
    api.call('addClass', { name: wanted }).then(
      () => setError(undefined),
      (err: unknown) => {
        setName(wanted);
        setError(StudioError.from(err));
      },
    );
  };
  return (
    <Stack gap="xs" mt="md" data-testid="classes-panel">
      <Group justify="space-between">
        <Title order={6}>Classes</Title>
        <Text size="xs" c="dimmed">
          {counts.unlabelled} unlabelled
        </Text>
      </Group>
      <BalanceBar counts={counts} />
      {counts.byClass.map((c, i) => (
        <ClassRow key={c.id} c={c} index={i} others={counts.byClass} onError={setError} />
      ))}
      <TextInput
        size="xs"
        placeholder="New class name, Enter to add"
        aria-label="New class name"
        value={name}
        onChange={(e) => setName(e.currentTarget.value)}
        onKeyDown={(e) => e.key === 'Enter' && add()}
        data-testid="new-class"
      />
      <ErrorText error={error} />
      {formulaNames && (
        <Text size="xs" c="orange" data-testid="formula-warning">
          Note: {formulaNames}
        </Text>
      )}
    </Stack>
  );
}
