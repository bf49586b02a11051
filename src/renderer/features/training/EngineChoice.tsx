/**
 * "Train on: this machine / a server over SSH": where the engine runs (saved per machine), the
 * server's address, "Test connection" and what the engine reported (version, runtime, provider,
 * GPU, free memory). The server is reached with the user's own ssh keys; nothing is asked or stored here.
 */
import { useEffect, useState } from 'react';
import { Button, Group, SegmentedControl, Stack, Text, TextInput } from '@mantine/core';
import { inferenceLabel, type EngineTestInfo } from '../../../shared/domain';
import { StudioError } from '../../../shared/errors';
import { api } from '../../api/client';
import { useQuery } from '../../api/hooks';
import { ErrorText } from '../../components/ErrorText';

const gb = (bytes: number): string => `${(bytes / 1024 ** 3).toFixed(1)} GB`;

export function reportText(r: EngineTestInfo): string {
  const where = r.backend.server ? `${r.hostname} (over SSH)` : `${r.hostname || 'this machine'}`;
  return [
    `Transfer Studio ${r.version} on ${where}`,
    inferenceLabel(r.backend.inference),
    `training on TensorFlow.js ${r.backend.name}`,
    r.gpu ? `GPU: ${r.gpu}` : 'no GPU',
    `${gb(r.freeMemoryBytes)} of ${gb(r.totalMemoryBytes)} memory free`,
    ...(r.freeDiskBytes === undefined ? [] : [`${gb(r.freeDiskBytes)} disk free`]),
  ].join(' · ');
}

export function EngineChoice() {
  const setting = useQuery('engineSetting', {}, []);
  const [mode, setMode] = useState<'local' | 'ssh'>('local');
  const [address, setAddress] = useState('');
  const [busy, setBusy] = useState<'test' | 'save' | null>(null);
  const [report, setReport] = useState<EngineTestInfo | null>(null);
  const [error, setError] = useState<StudioError>();
  useEffect(() => {
    const saved = setting.data?.engine ?? '';
    setMode(saved ? 'ssh' : 'local');
    setAddress(saved);
  }, [setting.data?.engine]);

  const wanted = mode === 'local' ? '' : address.trim();
  const fixed = setting.data?.fixed === true;
  const act = (what: 'test' | 'save'): void => {
    setBusy(what);
    setError(undefined);
    if (what === 'test') setReport(null);
    const done = what === 'test' ? api.call('testEngine', { engine: wanted }).then(setReport) : api.call('setEngineSetting', { engine: wanted }).then(() => setting.reload());
    done.catch((e: unknown) => setError(StudioError.from(e))).finally(() => setBusy(null));
  };

  return (
    <Stack gap={6} mb="sm" data-testid="engine-choice">
      <Group gap="sm" align="flex-end">
        <div>
          <Text size="xs" fw={700} c="dimmed" tt="uppercase">
            Train on
          </Text>
          <SegmentedControl
            size="xs"
            disabled={fixed}
            value={mode}
            onChange={(v) => setMode(v === 'ssh' ? 'ssh' : 'local')}
            data={[
              { value: 'local', label: 'this machine' },
              { value: 'ssh', label: 'a server over SSH' },
            ]}
            data-testid="engine-mode"
          />
        </div>
        {mode === 'ssh' && (
          <TextInput
            size="xs"
            w={360}
            disabled={fixed}
            label="Server"
            placeholder="ssh://user@gpu-box[:port][/path/to/transfer-studio]"
            value={address}
            onChange={(e) => setAddress(e.currentTarget.value)}
            data-testid="engine-address"
          />
        )}
        <Button size="xs" variant="default" loading={busy === 'test'} disabled={busy !== null || (mode === 'ssh' && !wanted)} onClick={() => act('test')} data-testid="engine-test">
          Test connection
        </Button>
        <Button size="xs" loading={busy === 'save'} disabled={fixed || busy !== null || wanted === (setting.data?.engine ?? '') || (mode === 'ssh' && !wanted)} onClick={() => act('save')} data-testid="engine-save">
          Use it
        </Button>
      </Group>
      {fixed && (
        <Text size="xs" c="dimmed">
          Set for this session by TRANSFER_STUDIO_ENGINE: {setting.data?.engine || 'this machine'}.
        </Text>
      )}
      {report && (
        <Text size="xs" data-testid="engine-report">
          {reportText(report)}
        </Text>
      )}
      <ErrorText error={error ?? setting.error} />
    </Stack>
  );
}
