/** What the studio reads from Slurm's answers (scontrol's fields, array task ranges, the reason a task is reported with), and the executor's options. */
import { describe, expect, it } from 'vitest';
import { coversTask, failureReason, scontrolFields } from '../../../src/main/training/slurm-commands';
import { slurmExecutorFor } from '../../../src/main/training/slurm-executor';

describe('Slurm answers', () => {
  it('reads scontrol -o fields', () => {
    const f = scontrolFields('JobId=12 ArrayJobId=11 ArrayTaskId=1 JobName=transfer-studio-sweep JobState=TIMEOUT Reason=TimeLimit Dependency=(null) ExitCode=0:15 StdOut=/w/jobs/x/task-1.out');
    expect(f).toMatchObject({ JobId: '12', ArrayJobId: '11', ArrayTaskId: '1', JobState: 'TIMEOUT', Reason: 'TimeLimit', ExitCode: '0:15', StdOut: '/w/jobs/x/task-1.out' });
  });

  it('knows which tasks a pending record covers', () => {
    expect(coversTask('0-1', 1)).toBe(true);
    expect(coversTask('0-1', 2)).toBe(false);
    expect(coversTask('3,5-7%2', 6)).toBe(true);
    expect(coversTask('3,5-7%2', 4)).toBe(false);
    expect(coversTask('0-8:4', 4)).toBe(true);
    expect(coversTask('0-8:4', 5)).toBe(false);
  });

  it('reports a task with Slurm\'s state first, then what it means', () => {
    expect(failureReason({ state: 'TIMEOUT', reason: 'TimeLimit', exitCode: '0:15' })).toBe('TIMEOUT: it reached its time limit (--time), exit code 0:15, reason TimeLimit');
    expect(failureReason({ state: 'PREEMPTED' }, 'The run was stopped')).toBe('PREEMPTED: it was pre-empted by a job of higher priority (The run was stopped)');
    expect(failureReason({ state: 'OUT_OF_MEMORY', exitCode: '0:125' })).toMatch(/^OUT_OF_MEMORY: it ran out of memory/);
    expect(failureReason(null)).toMatch(/left Slurm's queue without a result/);
  });

  it('refuses a sweep on Slurm without a work folder, naming --workdir', () => {
    const events = { progress: () => undefined, epoch: () => undefined, log: () => undefined };
    expect(() => slurmExecutorFor({ partition: 'gpu' }, { training: { events } })).toThrow(expect.objectContaining({ code: 'bad_input', field: 'workdir' }));
    expect(slurmExecutorFor({ workdir: '/shared/w', partition: 'gpu' }, { training: { events } }).kind).toBe('slurm');
  });
});
