/** Checks of a training job that hold for every scenario. */
import { EngineJobError } from './job-error';
import type { TrainJob } from './protocol';

/** Refuses a job that cannot train (any scenario). */
export function validateJob(job: TrainJob): void {
  if (job.classNames.length < 2) throw new EngineJobError('BAD_JOB', 'Training needs at least two classes.');
  const train = job.items.filter((i) => i.split === 'train');
  if (train.length === 0) throw new EngineJobError('BAD_JOB', 'Training needs labelled images in the train split.');
  for (const it of job.items) {
    if (!(it.label >= 0 && it.label < job.classNames.length)) {
      throw new EngineJobError('BAD_JOB', `Image ${it.imageId} has label ${it.label}, outside the ${job.classNames.length} classes.`);
    }
  }
}
