import { describe, expect, it } from 'vitest';
import { classOfDigitKey, isUnlabelKey } from '../../../src/renderer/components/label-keys';
import type { ClassInfo } from '../../../src/shared/domain';

const classes: ClassInfo[] = ['cat', 'dog'].map((name, i) => ({ id: 10 + i, name, color: '#000000', position: i }));

describe('digit keys', () => {
  it('1-9 name the class at that position, or say there is none; other keys are not digits', () => {
    expect(classOfDigitKey('2', classes)).toEqual({ cls: classes[1] });
    expect(classOfDigitKey('3', classes)).toEqual({ missing: 'There is no class 3' });
    for (const key of ['0', 'a', '10', 'Enter', '']) expect(classOfDigitKey(key, classes)).toBeNull();
  });

  it('0, Backspace and Delete remove the label; nothing else does', () => {
    expect(['0', 'Backspace', 'Delete'].map(isUnlabelKey)).toEqual([true, true, true]);
    expect(['1', 'Escape', 'd', ' '].map(isUnlabelKey)).toEqual([false, false, false, false]);
  });
});
