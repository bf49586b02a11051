import { describe, expect, it } from 'vitest';
import { isRequestName, requests } from '../../../src/shared/api';
import { StudioError, isErrorShape } from '../../../src/shared/errors';
import { trainConfigSchema } from '../../../src/shared/domain';

describe('the contract', () => {
  it('knows its requests and nothing else', () => {
    expect(isRequestName('createProject')).toBe(true);
    expect(isRequestName('toString')).toBe(false);
    expect(isRequestName('__proto__')).toBe(false);
    expect(isRequestName(42)).toBe(false);
  });

  it('rejects bad input with the path of the field', () => {
    const r = requests.addClass.input.safeParse({ name: '', color: 'red' });
    expect(r.success).toBe(false);
    expect(r.error!.issues.map((i) => i.path.join('.'))).toEqual(['name', 'color']);
  });

  it('refuses unknown fields, so a typo is an error and not a silent default', () => {
    expect(requests.openProject.input.safeParse({ dir: '/x', dri: '/y' }).success).toBe(false);
  });

  it('fills training defaults and bounds them', () => {
    const c = trainConfigSchema.parse({ scenario: 1, model: 'mobilenet_v1_0.25_224' });
    expect(c).toMatchObject({ batchSize: 32, epochs: 10, optimizer: 'adam', seed: 42, augment: null });
    expect(trainConfigSchema.safeParse({ scenario: 5, model: 'm' }).success).toBe(false);
    expect(trainConfigSchema.safeParse({ scenario: 1, model: 'm', lr: -1 }).success).toBe(false);
  });
});

describe('StudioError', () => {
  it('round-trips through its wire shape', () => {
    const e = new StudioError('not_found', 'There is no class with id 3.', 'id');
    const back = StudioError.from(JSON.parse(JSON.stringify(e.toJSON())));
    expect(back).toBeInstanceOf(StudioError);
    expect(back.toJSON()).toEqual({ code: 'not_found', message: 'There is no class with id 3.', field: 'id' });
  });

  it('wraps foreign errors as internal', () => {
    expect(StudioError.from(new Error('boom')).code).toBe('internal');
    expect(isErrorShape({ code: 'nope', message: 'x' })).toBe(false);
  });
});
