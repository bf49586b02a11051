/** What an import did: added, duplicates and every failure with its reason, scrollable. */
import { Alert, Badge, Group, Modal, ScrollArea, Stack, Table, Text, Title } from '@mantine/core';
import type { JobInfo } from '../../../shared/api';

export function ImportReportModal({ job, onClose }: { job: JobInfo<'import'>; onClose: () => void }) {
  const report = job.result ?? null;
  return (
    <Modal opened onClose={onClose} title="Import report" size="xl">
      <Stack gap="sm" data-testid="import-report">
        {job.state === 'failed' && (
          <Alert color="red" role="alert">
            The import failed: {job.error?.message ?? 'unknown error'}
          </Alert>
        )}
        {job.state === 'cancelled' && !report && <Alert color="yellow">The import was cancelled.</Alert>}
        {report && (
          <>
            <Group gap="lg">
              <Text data-testid="report-added">
                <b>{report.added}</b> added
              </Text>
              <Text data-testid="report-duplicates">
                <b>{report.duplicateCount}</b> duplicates skipped
              </Text>
              <Text data-testid="report-failures" c={report.failureCount ? 'red' : undefined}>
                <b>{report.failureCount}</b> failed
              </Text>
              <Text c="dimmed" size="sm">
                {(report.durationMs / 1000).toFixed(1)} s
              </Text>
              {report.cancelled && <Badge color="yellow">cancelled: the images before it were kept</Badge>}
            </Group>
            {report.classesCreated.length > 0 && (
              <Text size="sm">
                New classes: {report.classesCreated.join(', ')}
              </Text>
            )}
            <Text size="xs" c="dimmed">
              From {report.root}
            </Text>
            {report.failures.length > 0 && (
              <>
                <Title order={6}>
                  Failures{report.failureCount > report.failures.length ? ` (first ${report.failures.length} of ${report.failureCount})` : ''}
                </Title>
                <ScrollArea.Autosize mah={280} type="auto">
                  <Table striped fz="xs" data-testid="report-failure-list">
                    <Table.Thead>
                      <Table.Tr>
                        <Table.Th>File</Table.Th>
                        <Table.Th>Row</Table.Th>
                        <Table.Th>Reason</Table.Th>
                      </Table.Tr>
                    </Table.Thead>
                    <Table.Tbody>
                      {report.failures.map((f, i) => (
                        <Table.Tr key={i} data-testid="report-failure">
                          <Table.Td style={{ wordBreak: 'break-all' }}>{f.file}</Table.Td>
                          <Table.Td>{f.row ?? ''}</Table.Td>
                          <Table.Td>{f.reason}</Table.Td>
                        </Table.Tr>
                      ))}
                    </Table.Tbody>
                  </Table>
                </ScrollArea.Autosize>
              </>
            )}
            {report.duplicates.length > 0 && (
              <>
                <Title order={6}>
                  Duplicates{report.duplicateCount > report.duplicates.length ? ` (first ${report.duplicates.length} of ${report.duplicateCount})` : ''}
                </Title>
                <ScrollArea.Autosize mah={200} type="auto">
                  <Table striped fz="xs">
                    <Table.Thead>
                      <Table.Tr>
                        <Table.Th>File</Table.Th>
                        <Table.Th>Same content as</Table.Th>
                      </Table.Tr>
                    </Table.Thead>
                    <Table.Tbody>
                      {report.duplicates.map((d, i) => (
                        <Table.Tr key={i}>
                          <Table.Td style={{ wordBreak: 'break-all' }}>{d.file}</Table.Td>
                          <Table.Td style={{ wordBreak: 'break-all' }}>{d.existing}</Table.Td>
                        </Table.Tr>
                      ))}
                    </Table.Tbody>
                  </Table>
                </ScrollArea.Autosize>
              </>
            )}
          </>
        )}
      </Stack>
    </Modal>
  );
}
