/** Which failures are a full disk, and the message they become. */
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { StudioError } from '../../../src/shared/errors';
import { diskFullError, isDiskFull } from '../../../src/shared/node/disk-full';

const coded = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code });

describe('a full disk', () => {
  it('is SQLITE_FULL, ENOSPC or EDQUOT, also as text from the engine; nothing else', () => {
    for (const e of [coded('SQLITE_FULL'), coded('ENOSPC'), coded('EDQUOT'), new StudioError('engine_failed', 'ENOSPC: no space left on device, write'), new StudioError('disk_full', 'full')])
      expect(isDiskFull(e), e.message).toBe(true);
    for (const e of [coded('ENOENT'), coded('SQLITE_BUSY'), new StudioError('bad_input', 'a folder named full'), new Error('disk'), null, 'ENOSPC'])
      expect(isDiskFull(e), String(e)).toBe(false);
  });

  it('becomes a disk_full error naming the disk, its free space and what was needed', () => {
    const dir = os.tmpdir();
    const e = diskFullError(coded('SQLITE_FULL', 'database or disk is full'), dir, 50 * 1024 ** 2);
    expect(e).toBeInstanceOf(StudioError);
    expect(e!.code).toBe('disk_full');
    expect(e!.message).toMatch(new RegExp(`^The disk holding ${dir} is full \\(\\d+\\.\\d (MB|GB) free, 50\\.0 MB needed\\): `));
    expect(diskFullError(coded('EACCES'), dir)).toBeNull();
  });
});
