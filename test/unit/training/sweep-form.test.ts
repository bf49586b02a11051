/**
 * The Sweep form and the CLI read a grid the same way (src/shared/sweep-text.ts): comma lists per
 * field, blanks left to the scenario's defaults, and a bad value refused naming its field.
 */
import { describe, expect, it } from 'vitest';
import { EMPTY_FORM, sweepRequestOf } from '../../../src/renderer/features/training/sweep/sweep-form';
import { gridFromText } from '../../../src/shared/sweep-text';

describe('sweep form', () => {
  it('reads comma lists, augmentation on/off, and leaves blank fields out', () => {
    expect(gridFromText({ scenario: '1, 2', lr: '0.01,1e-3', augment: 'on,off', seed: ' 1 , 2 ,3', cutLayer: 'a, b', epochs: '' })).toEqual({
      scenario: [1, 2],
      lr: [0.01, 0.001],
      augment: [true, false],
      seed: [1, 2, 3],
      cutLayer: ['a', 'b'],
    });
  });

  it('refuses a bad value naming its field', () => {
    expect(() => gridFromText({ lr: '0.01, fast' })).toThrow(expect.objectContaining({ field: 'lr', message: 'lr: fast is not a number.' }));
    expect(() => gridFromText({ seed: '1,,2' })).toThrow(expect.objectContaining({ field: 'seed' }));
    expect(() => gridFromText({ augment: 'maybe' })).toThrow(expect.objectContaining({ field: 'augment' }));
  });

  it('makes the request with the default model, folds and Slurm fields, checked by the contract', () => {
    expect(sweepRequestOf({ ...EMPTY_FORM, folds: '5' }, 'm025')).toEqual({ grid: { scenario: [1], lr: [0.001, 0.0003], seed: [1], model: ['m025'] }, folds: 5, on: 'local' });
    const slurm = sweepRequestOf({ ...EMPTY_FORM, on: 'slurm', slurm: { partition: 'gpu', gres: 'gpu:1', time: '02:00:00', workdir: '' } }, 'm025');
    expect(slurm).toMatchObject({ on: 'slurm', slurm: { partition: 'gpu', gres: 'gpu:1', time: '02:00:00' } });
    expect(() => sweepRequestOf({ ...EMPTY_FORM, folds: '1' }, 'm025')).toThrow(expect.objectContaining({ field: 'folds' }));
    expect(() => sweepRequestOf({ ...EMPTY_FORM, grid: { scenario: '5' } }, 'm025')).toThrow(expect.objectContaining({ field: 'scenario' }));
    expect(() => sweepRequestOf({ ...EMPTY_FORM, on: 'slurm', slurm: { partition: 'a b', gres: '', time: '', workdir: '' } }, 'm025')).toThrow(expect.objectContaining({ field: 'slurm.partition' }));
    expect(() => sweepRequestOf(EMPTY_FORM, undefined)).toThrow(expect.objectContaining({ field: 'model' }));
  });
});
