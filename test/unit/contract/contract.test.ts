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

describe('errors from the file system', () => {
  it('say what is wrong with the path the user gave, as bad input', () => {
    const e = Object.assign(new Error('ENAMETOOLONG: name too long'), { code: 'ENAMETOOLONG', path: '/tmp/wwww' });
    expect(StudioError.from(e).toJSON()).toEqual({ code: 'bad_input', message: '/tmp/wwww has a name too long for the file system.' });
    expect(StudioError.from(Object.assign(new Error('x'), { code: 'ENOENT', path: '/nope' })).message).toBe('/nope does not exist.');
    // Without a path (or with another code) it is not the user's input: still internal.
    expect(StudioError.from(Object.assign(new Error('x'), { code: 'ENOENT' })).code).toBe('internal');
    expect(StudioError.from(Object.assign(new Error('x'), { code: 'EIO', path: '/p' })).code).toBe('internal');
  });

  it('a path with a NUL character is refused by the schema', () => {
    expect(requests.importModel.input.safeParse({ dir: 'a\0b' }).error?.issues[0]?.message).toBe('a path cannot contain a NUL character');
  });
});
