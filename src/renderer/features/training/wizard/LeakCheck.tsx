/**
 * The data step's word on leaks, from the latest audit: near-duplicate images that sit in more
 * than one split (the same picture trained on and scored) inflate validation and test results.
 * Before any audit it says that leaks were not checked; the Audit screen fixes them.
 */
import { Alert, List, Text } from '@mantine/core';
import { useQuery } from '../../../api/hooks';

const SPLIT_TEXT = { train: 'training', val: 'validation', test: 'test' } as const;

export function LeakCheck() {
  const summary = useQuery('auditSummary', {}, ['audit', 'images']);
  const s = summary.data;
  const leaks = useQuery('listDuplicateClusters', { only: 'leaks', limit: 5 }, ['audit', 'images'], !!s && s.leaks > 0);
  if (summary.error || s === undefined) return null;
  if (s === null)
    return (
      <Text size="xs" c="dimmed" data-testid="wizard-leaks" data-state="unchecked">
        Leaks across splits (near-duplicate images in training and validation or test) have not been checked: run the audit on the Audit screen.
      </Text>
    );
  if (s.leaks === 0)
    return (
      <Text size="xs" c="dimmed" data-testid="wizard-leaks" data-state="none">
        No near-duplicate images cross the splits (audit of {new Date(s.createdAt).toLocaleString()}{s.imagesSince > 0 ? `; ${s.imagesSince} images imported since were not checked` : ''}).
      </Text>
    );
  return (
    <Alert color="red" variant="light" title={`${s.leaks} leak${s.leaks === 1 ? '' : 's'} across splits`} data-testid="wizard-leaks" data-state="leaks" data-leaks={s.leaks}>
      <Text size="sm">
        {s.leaks === 1 ? 'A group' : `${s.leaks} groups`} of near-identical images sit in more than one split, so the model is scored on pictures it trained on and the
        validation and test results look better than they are. Keep one of each or move them into one split on the Audit screen.
      </Text>
      <List size="xs" mt={4}>
        {(leaks.data?.rows ?? []).map((c) => (
          <List.Item key={c.id} data-testid="wizard-leak">
            {c.members.map((m) => `${m.fileName} (${SPLIT_TEXT[m.split]})`).join(', ')}
          </List.Item>
        ))}
      </List>
    </Alert>
  );
}
