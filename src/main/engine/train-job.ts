/** A training job's plan and the checks that hold for every scenario. */
import type { ModelInspection } from '../../shared/domain';
import { trainPlanFor, TrainPlanError, type TrainPlan } from '../../shared/train-plan';
import { EngineJobError } from './job-error';
import type { TrainJob, TrainPlanRequest } from './protocol';

/** The checked plan of a training config on a model (planTraining); a refusal names the config field. */
export function planTraining(model: ModelInspection, config: TrainPlanRequest): TrainPlan {
  try {
    return trainPlanFor(model, config);
  } catch (e) {
    if (e instanceof TrainPlanError) throw new EngineJobError(e.code, e.message, e.field);
    throw e;
  }
}

/** Refuses a job that cannot train (any scenario). */
export function validateJob(job: TrainJob): void {
  // The job crossed a process boundary: its plan may be missing or made for another config.
  if (job.plan?.scenario !== job.config.scenario) throw new EngineJobError('BAD_JOB', `The job's plan is not one of scenario ${job.config.scenario} (ask planTraining for it).`);
  if (job.classNames.length < 2) throw new EngineJobError('BAD_JOB', 'Training needs at least two classes.');
  const train = job.items.filter((i) => i.split === 'train');
  if (train.length === 0) throw new EngineJobError('BAD_JOB', 'Training needs labelled images in the train split.');
  for (const it of job.items) {
    if (!(it.label >= 0 && it.label < job.classNames.length)) {
      throw new EngineJobError('BAD_JOB', `Image ${it.imageId} has label ${it.label}, outside the ${job.classNames.length} classes.`);
    }
  }
}
