// @vitest-environment jsdom
/**
 * The wizard's layer list shows the frozen and trainable parameters the host's plan builder counts
 * (advisor.modelPlans, what `advise` returns) for the chosen cut, on a network with skip
 * connections: the numbers appear for every scenario, follow the boundary as it moves, a block end a
 * skip goes around is not offered, and the boundary's block is named.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { MantineProvider } from '@mantine/core';
import { browserApisForMantine } from '../helpers';
import type { LayerInfo, Scenario } from '../../../src/shared/domain';
import { modelPlans } from '../../../src/main/scenarios/advisor';
import { formatCount } from '../../../src/renderer/components/format';
import { LayerList } from '../../../src/renderer/features/training/wizard/LayerList';

beforeAll(browserApisForMantine);
afterEach(cleanup);

/** A small ResNet: a stem and three residual blocks (the skip goes around each block's convolutions); b3_out feeds the head. */
function resnet(): LayerInfo[] {
  const layers: LayerInfo[] = [];
  const add = (name: string, className: string, params: number, inbound: string[], extra: Partial<LayerInfo> = {}) =>
    layers.push({ index: layers.length, name, className, outputShape: [7, 7, 64], params, cutPoint: false, inbound, ...extra });
  add('input_1', 'InputLayer', 0, []);
  add('stem_conv', 'Conv2D', 1_792, ['input_1']);
  add('stem_relu', 'Activation', 0, ['stem_conv'], { cutPoint: true, block: 'stem' });
  let prev = 'stem_relu';
  for (let b = 1; b <= 3; b++) {
    add(`b${b}_conv1`, 'Conv2D', 36_928 * b, [prev]);
    // Flagged as a block end by its class, but the skip goes around it: never offered.
    add(`b${b}_conv2`, 'Conv2D', 36_928, [`b${b}_conv1`], { cutPoint: true });
    add(`b${b}_add`, 'Add', 0, [prev, `b${b}_conv2`]);
    add(`b${b}_out`, 'Activation', 0, [`b${b}_add`], { cutPoint: true, block: `block ${b}` });
    prev = `b${b}_out`;
  }
  return layers;
}

const layers = resnet();
const plans = modelPlans(layers, 'b3_out')!;

function show(scenario: Scenario, boundary: string, onPick = vi.fn()) {
  const ui = <LayerList layers={layers} plans={plans} scenario={scenario} boundary={boundary} onPick={onPick} />;
  return render(<MantineProvider>{ui}</MantineProvider>);
}

const frozen = () => screen.getByTestId('frozen-params').textContent ?? '';
const trainable = () => screen.getByTestId('trainable-params').textContent ?? '';

describe('LayerList parameter counts', () => {
  it('scenario 2: the counts of the chosen block end, changing as the boundary moves', () => {
    expect(plans.freeze.map((c) => c.layer)).toEqual(['stem_relu', 'b1_out', 'b2_out']);
    const shown: string[] = [];
    for (const [k, choice] of plans.freeze.entries()) {
      const { unmount } = show(2, choice.layer);
      expect(frozen()).toContain(`Frozen: ${formatCount(choice.frozenParams)} parameters (k = ${k + 1} of 3 blocks, up to ${layers.find((l) => l.name === choice.layer)!.block})`);
      expect(trainable()).toContain(`Trainable: ${formatCount(choice.trainableParams)} parameters`);
      expect(choice.frozenParams + choice.trainableParams).toBe(plans.wholeParams);
      shown.push(frozen() + trainable());
      unmount();
    }
    // Every boundary shows other numbers.
    expect(new Set(shown).size).toBe(3);
    expect(plans.freeze[1]).toMatchObject({ frozenParams: 1_792 + 36_928 + 36_928, trainableParams: 2 * 36_928 + 3 * 36_928 + 2 * 36_928 });
  });

  it('offers only block ends every path crosses, and picking one reports it', () => {
    const onPick = vi.fn();
    show(2, 'b1_out', onPick);
    const offered = screen.getAllByTestId('set-boundary').map((b) => b.closest('[data-layer]')?.getAttribute('data-layer'));
    expect(offered).toEqual(['stem_relu', 'b1_out', 'b2_out']);
    fireEvent.click(screen.getAllByTestId('set-boundary')[2]!);
    expect(onPick).toHaveBeenCalledWith('b2_out');
  });

  it('scenario 1 freezes the network up to the feature layer; scenarios 3 and 4 train all of it', () => {
    const features = plans.features.find((c) => c.layer === 'b3_out')!;
    const { unmount } = show(1, 'b3_out');
    expect(frozen()).toContain(`Frozen: ${formatCount(features.frozenParams)} parameters`);
    expect(features.frozenParams).toBe(plans.wholeParams);
    unmount();
    show(3, '');
    expect(frozen()).toContain('Frozen: 0 parameters');
    expect(trainable()).toContain(`Trainable: ${formatCount(plans.wholeParams)} parameters`);
  });
});
