import { describe, expect, it } from 'vitest';
import { parseRunRecord, RUN_RECORD_VERSION, RunRecordError, runRecordText, type RunRecordFields } from '../../../src/shared/run-record';
import { legacyHeadRunJson, legacyModelRunJson } from '../../fixtures/run-record';

const text = (o: unknown) => JSON.stringify(o, null, 2);

describe('the run record (run.json)', () => {
  it('reads a record written before the version field, of scenario 1 (no classifier field) and of scenarios 2-4', () => {
    const head = parseRunRecord(text(legacyHeadRunJson()));
    expect(head).toMatchObject({ version: 1, scenario: 1, classifier: 'head', pool: 'avg', cutLayer: 'global_average_pooling2d_1', featureDim: 256, bestEpoch: 3 });
    expect(head.backend.inference?.runtime).toBe('onnxruntime');
    const model = parseRunRecord(text(legacyModelRunJson()));
    expect(model).toMatchObject({ version: 1, scenario: 2, classifier: 'model', freezeTo: 'conv_pw_11_relu', state: 'checkpoint' });
  });

  it("reads a record from before per-family preprocessing as [-1, 1] ('tf')", () => {
    const { preprocessing: _dropped, ...older } = legacyHeadRunJson();
    expect(parseRunRecord(text(older)).preprocessing).toBe('tf');
  });

  it('writes the current version with the time, and reads back what it wrote', () => {
    const { savedAt: _savedAt, ...fields } = legacyModelRunJson({ state: 'succeeded' });
    const written = runRecordText(fields as RunRecordFields);
    const back = parseRunRecord(written);
    expect(JSON.parse(written)).toMatchObject({ version: RUN_RECORD_VERSION });
    expect(back).toMatchObject({ ...fields, version: RUN_RECORD_VERSION });
    expect(Date.parse(back.savedAt)).not.toBeNaN();
  });

  it('refuses a newer layout, a record lacking what prediction and export need, and text that is not a record, saying what is wrong', () => {
    const refusal = (t: string) => {
      try {
        parseRunRecord(t);
      } catch (e) {
        return e instanceof RunRecordError ? e.message : `not a RunRecordError: ${String(e)}`;
      }
      return 'read';
    };
    expect(refusal(text(legacyHeadRunJson({ version: 2 })))).toMatch(/layout version 2; .* reads up to 1/);
    const { classNames: _c, ...noClasses } = legacyHeadRunJson();
    expect(refusal(text(noClasses))).toMatch(/lacks a usable classNames/);
    expect(refusal(text(legacyHeadRunJson({ inputSize: '224' })))).toMatch(/inputSize/);
    expect(refusal(text(legacyHeadRunJson({ preprocessing: 'sepia' })))).toMatch(/preprocessing/);
    expect(refusal(text(legacyModelRunJson({ classifier: 'ensemble' })))).toMatch(/classifier/);
    expect(refusal('{"inputSize": 8')).toMatch(/not valid JSON/);
    expect(refusal('[1, 2]')).toMatch(/not an object/);
  });
});
