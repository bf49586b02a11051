// @vitest-environment jsdom
/** useJob + JobStatus: a job followed from its start request to its end, with the events the host sends. */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { MantineProvider } from '@mantine/core';
import type { JobInfo } from '../../../src/shared/api';
import { browserApisForMantine, jobInfo } from '../helpers';

type Listener = (p: unknown) => void;
const listeners = new Map<string, Set<Listener>>();
const call = vi.fn();
vi.mock('../../../src/renderer/api/client', () => ({
  api: {
    call: (...args: unknown[]) => call(...args) as unknown,
    on: (event: string, l: Listener) => {
      const set = listeners.get(event) ?? new Set<Listener>();
      set.add(l);
      listeners.set(event, set);
      return () => set.delete(l);
    },
  },
  fileUrl: () => '',
}));

const { useJob } = await import('../../../src/renderer/components/useJob');
const { JobStatus } = await import('../../../src/renderer/components/JobStatus');

beforeAll(browserApisForMantine);
afterEach(() => {
  cleanup();
  call.mockReset();
  listeners.clear();
});

const emit = (event: 'job.progress' | 'job.finished', job: JobInfo): void => act(() => listeners.get(event)?.forEach((l) => l(job)));
const job = (state: JobInfo['state'], done = 0, total = 0, extra: Partial<JobInfo<'export'>> = {}): JobInfo<'export'> => jobInfo(state, done, total, { progress: { done, total, message: 'Writing' }, ...extra });

function Harness({ request }: { request: () => Promise<JobInfo<'export'>> }) {
  const handle = useJob('export');
  return (
    <MantineProvider>
      <button onClick={() => void handle.start(request)}>go</button>
      <JobStatus handle={handle} label="Export" testId="job" cancelledText="Export cancelled; nothing was written.">
        <span>done!</span>
      </JobStatus>
    </MantineProvider>
  );
}

const state = (): string | null => screen.getByTestId('job').getAttribute('data-state');

describe('useJob + JobStatus', () => {
  it('shows progress with Cancel while running, then what the job produced', async () => {
    render(<Harness request={() => Promise.resolve(job('running'))} />);
    await act(async () => fireEvent.click(screen.getByText('go')));
    expect(state()).toBe('running');
    emit('job.progress', job('running', 3, 12));
    expect(screen.getByTestId('job-text').textContent).toContain('Writing 3/12');
    call.mockResolvedValue(job('cancelled'));
    fireEvent.click(screen.getByTestId('job-cancel'));
    expect(call).toHaveBeenCalledWith('cancelJob', { id: 'j1' });
    emit('job.progress', job('running', 4, 12, { id: 'other' }));
    expect(screen.getByTestId('job-text').textContent).toContain('3/12');
    emit('job.finished', job('succeeded', 12, 12));
    expect(state()).toBe('succeeded');
    expect(screen.getByText('done!')).toBeTruthy();
    expect(screen.queryByTestId('job-cancel')).toBeNull();
  });

  it('keeps the end of a job that finished before its start request answered', async () => {
    let answer: (j: JobInfo<'export'>) => void = () => undefined;
    render(<Harness request={() => new Promise<JobInfo<'export'>>((r) => (answer = r))} />);
    await act(async () => fireEvent.click(screen.getByText('go')));
    emit('job.finished', job('failed', 0, 0, { error: { code: 'bad_input', message: 'The folder /x does not exist.' } }));
    await act(async () => answer(job('running')));
    expect(state()).toBe('failed');
    expect(screen.getByRole('alert').textContent).toBe('Export failed: The folder /x does not exist.');
  });

  it("shows a start request's error, and a cancelled job's note", async () => {
    const { unmount } = render(<Harness request={() => Promise.reject({ code: 'bad_request', message: 'out: an output path is required' })} />);
    await act(async () => fireEvent.click(screen.getByText('go')));
    expect(state()).toBe('error');
    expect(screen.getByRole('alert').textContent).toBe('out: an output path is required');
    unmount();
    render(<Harness request={() => Promise.resolve(job('running'))} />);
    await act(async () => fireEvent.click(screen.getByText('go')));
    emit('job.finished', job('cancelled'));
    expect(screen.getByTestId('job-cancelled').textContent).toBe('Export cancelled; nothing was written.');
  });
});
