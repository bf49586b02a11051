/** How the model library words sizes, parameters, preprocessing and download checks. */
import { describe, expect, it } from 'vitest';
import { describeCheck, describePreprocessing, formatBytes, formatParams, percent } from '../../../src/renderer/features/models/model-format';
import type { JobInfo } from '../../../src/shared/api';

describe('model library formatting', () => {
  it('sizes, estimates and parameter counts', () => {
    expect(formatBytes(9_406_464)).toBe('9.4 MB');
    expect(formatBytes(58_858_752, false)).toBe('~58.9 MB');
    expect(formatBytes(1_553_467_096)).toBe('1.55 GB');
    expect(formatBytes(null)).toBe('?');
    expect(formatParams(475_544)).toBe('475,544');
    expect(formatParams(23_587_712)).toBe('23.6M');
  });

  it('preprocessing per family and what a download is checked against', () => {
    expect(describePreprocessing('caffe')).toMatch(/BGR/);
    expect(describePreprocessing(undefined)).toBe(describePreprocessing('tf'));
    expect(describeCheck({ family: 'resnet50', sizeExact: true, hash: { algorithm: 'md5', value: '4d473c1dd8becc155b73f8504c6f6626', pinnedIn: 'resnet.py' } })).toBe('md5 4d473c1d… pinned in resnet.py');
    expect(describeCheck({ family: 'mobilenet_v2', sizeExact: true, hash: null })).toMatch(/structurally and by size/);
    expect(describeCheck({ family: 'mobilenet_v2', sizeExact: false, hash: null })).toBe('no hash pinned: checked structurally');
    expect(describeCheck({ family: 'mobilenet_v1', sizeExact: true, hash: null })).toMatch(/manifest/);
  });

  it('a job\'s percent', () => {
    const job = (done: number, total: number) => ({ progress: { done, total } }) as JobInfo;
    expect(percent(job(50, 200))).toBe(25);
    expect(percent(job(5, 0))).toBe(0);
    expect(percent(undefined)).toBe(0);
  });
});
