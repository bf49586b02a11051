/**
 * The settings a scenario trains with when nothing is said are the contract's (SCENARIO_DEFAULTS):
 * the wizard starts from them and the CLI (which sends only the flags given) gets them from the
 * schema, so the same scenario trains the same way from either.
 */
import { describe, expect, it } from 'vitest';
import { SCENARIO_DEFAULTS, trainConfigSchema, type Scenario } from '../../../src/shared/domain';
import { buildConfig, defaultsFor } from '../../../src/renderer/features/training/wizard/form';

const SCENARIOS: Scenario[] = [1, 2, 3, 4];

describe('scenario defaults', () => {
  it('the wizard untouched builds exactly the config the contract makes of scenario + model alone', () => {
    for (const scenario of SCENARIOS) {
      const form = { ...defaultsFor(scenario), model: 'm', freezeTo: scenario === 2 ? 'conv_pw_11_relu' : '' };
      const built = buildConfig(scenario, form);
      expect(built.errors, `scenario ${scenario}`).toBeNull();
      const fromContract = trainConfigSchema.parse({ scenario, model: 'm', ...(scenario === 2 ? { freezeTo: 'conv_pw_11_relu' } : {}) });
      expect(built.config, `scenario ${scenario}`).toEqual(fromContract);
    }
  });

  it('fills each scenario its own settings, and what is given wins', () => {
    const s2 = trainConfigSchema.parse({ scenario: 2, model: 'm' });
    expect(s2).toMatchObject({ epochs: 15, patience: 4, lr: 0.001, lrPretrained: 0.0001, augment: null, head: { hidden: [128], dropout: 0.3 } });
    const s3 = trainConfigSchema.parse({ scenario: 3, model: 'm' });
    expect(s3).toMatchObject({ epochs: 30, head: { hidden: [256], dropout: 0.3, activation: 'relu' }, augment: { flip: true, crop: true } });
    expect(s3.lrPretrained).toBeUndefined();
    expect(trainConfigSchema.parse({ scenario: 3, model: 'm', augment: null, epochs: 2, head: { hidden: [] } })).toMatchObject({ augment: null, epochs: 2, head: { hidden: [], dropout: 0.2 } });
    for (const scenario of SCENARIOS) expect(trainConfigSchema.parse({ scenario, model: 'm' }).epochs).toBe(SCENARIO_DEFAULTS[scenario].epochs);
  });
});
