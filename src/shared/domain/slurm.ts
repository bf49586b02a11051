/**
 * Where a sweep runs when it runs on a Slurm cluster (`--on slurm`, the sweep form's "Slurm"): the
 * sbatch options of its job array and the shared folder of its run bundles. Values reach sbatch as
 * arguments (never through a shell), and each is checked against Slurm's own syntax here, so a typo
 * is refused with the field's name before anything is submitted.
 */
import { z } from 'zod';

/** Slurm's time formats: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS. */
const SLURM_TIME = /^(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d{1,2}(:\d{1,2}){0,2})$/;

export const slurmOptionsSchema = z.object({
  /** The shared folder (seen at the same path by this machine and the compute nodes) of the run bundles. */
  workdir: z.string().trim().min(1, 'a shared folder for the run bundles (--workdir)').max(4096),
  /** sbatch --partition; the cluster's default partition when absent. */
  partition: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_.,-]{1,200}$/, 'a partition name (letters, digits, _ . - ; several separated by commas)')
    .optional(),
  /** sbatch --gres, e.g. gpu:1 or gpu:a100:2. */
  gres: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_]+(:[A-Za-z0-9_.-]+){0,2}(,[A-Za-z0-9_]+(:[A-Za-z0-9_.-]+){0,2})*$/, 'generic resources as Slurm writes them, e.g. gpu:1 or gpu:a100:2')
    .optional(),
  /** sbatch --time of each task, e.g. 02:00:00 or 1-00:00:00. */
  time: z.string().trim().regex(SLURM_TIME, 'a time limit as Slurm writes it: minutes, HH:MM:SS or D-HH:MM:SS').optional(),
});

export type SlurmOptions = z.infer<typeof slurmOptionsSchema>;
export type SlurmOptionsInput = z.input<typeof slurmOptionsSchema>;

