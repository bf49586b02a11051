/** The large preview of one image with its file details; arrow keys step through the listing. */
import { Badge, Box, Center, Group, Image, Loader, Modal, Table, Text } from '@mantine/core';
import type { ClassInfo } from '../../../shared/domain';
import { fileUrl } from '../../api/client';
import { useQuery } from '../../api/hooks';
import { ErrorText } from '../../components/ErrorText';
import type { PageCache } from './page-cache';
import { useCacheVersion } from './useImagePages';

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function PreviewModal({
  cache,
  index,
  total,
  classById,
  onClose,
  onStep,
}: {
  cache: PageCache;
  index: number;
  total: number;
  classById: ReadonlyMap<number, ClassInfo>;
  onClose: () => void;
  onStep: (delta: number) => void;
}) {
  useCacheVersion(cache);
  const row = cache.get(index);
  const id = row?.id ?? 0;
  const cls = row?.classId != null ? classById.get(row.classId) : undefined;
  const position = index;
  const details = useQuery('imageDetails', { id }, ['images', 'classes'], id > 0);
  const d = details.data;
  return (
    <Modal
      opened
      onClose={onClose}
      size="80%"
      title={
        <Group gap="xs">
          <Text fw={600}>{d?.fileName ?? '…'}</Text>
          <Text size="sm" c="dimmed">
            {position + 1} of {total}
          </Text>
        </Group>
      }
      onKeyDown={(e) => {
        if (e.key === 'ArrowRight' || e.key === 'ArrowDown') onStep(1);
        else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') onStep(-1);
        else if (e.key === ' ') {
          e.preventDefault();
          onClose();
        } else return;
        e.preventDefault();
      }}
      data-testid="preview"
    >
      <Group align="flex-start" wrap="nowrap" gap="lg">
        <Box style={{ flex: 1, minWidth: 0 }}>
          <Center mih={300} bg="var(--mantine-color-default-hover)">
            <Image src={fileUrl('image', id)} alt={d?.fileName ?? ''} fit="contain" mah="65vh" fallbackSrc={fileUrl('thumb', id)} />
          </Center>
        </Box>
        <Box w={300} style={{ flex: 'none' }}>
          {!d && !details.error && <Loader size="sm" />}
          <ErrorText error={details.error} />
          {d && (
            <Table withRowBorders={false} fz="sm" verticalSpacing={4} data-testid="preview-details">
              <Table.Tbody>
                <Table.Tr>
                  <Table.Th>Class</Table.Th>
                  <Table.Td>{cls ? <Badge color={cls.color} tt="none">{cls.name}</Badge> : <Text c="dimmed">unlabelled</Text>}</Table.Td>
                </Table.Tr>
                <Table.Tr>
                  <Table.Th>Split</Table.Th>
                  <Table.Td>{d.split}</Table.Td>
                </Table.Tr>
                <Table.Tr>
                  <Table.Th>Size</Table.Th>
                  <Table.Td>
                    {d.width} × {d.height} · {d.format} · {formatBytes(d.bytes)}
                  </Table.Td>
                </Table.Tr>
                <Table.Tr>
                  <Table.Th>File</Table.Th>
                  <Table.Td style={{ wordBreak: 'break-all' }}>
                    {d.path}
                    {!d.exists && (
                      <Text size="xs" c="red">
                        The file is no longer at this place.
                      </Text>
                    )}
                  </Table.Td>
                </Table.Tr>
                <Table.Tr>
                  <Table.Th>Imported</Table.Th>
                  <Table.Td>{new Date(d.importedAt).toLocaleString()}</Table.Td>
                </Table.Tr>
                <Table.Tr>
                  <Table.Th>Hash</Table.Th>
                  <Table.Td style={{ wordBreak: 'break-all', fontFamily: 'monospace', fontSize: 11 }}>{d.hash}</Table.Td>
                </Table.Tr>
              </Table.Tbody>
            </Table>
          )}
          <Text size="xs" c="dimmed" mt="sm">
            ← → previous / next · Space or Esc closes
          </Text>
        </Box>
      </Group>
    </Modal>
  );
}
