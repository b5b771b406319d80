// The VideoNet contract (test/contract.ts) over every registered method and variant: AdaFocus V1,
// V2, Uni-AdaFocus and every baseline, the random- and centre-patch ones included.
import { expect, it } from 'vitest';

import { contractSuite } from '../test/contract.js';
import { methodVariants, registeredMethods } from './methods/registry.js';

it('the suite covers every registered method', () => {
  expect(new Set(methodVariants().map((v) => v.config.method))).toEqual(new Set(registeredMethods()));
  expect(methodVariants().map((v) => v.name)).toEqual([
    'v2',
    'random',
    'centre',
    'paper-v2',
    'v1',
    'v1-random',
    'paper-v1',
    'v1-tsm',
    'v1-tsm-random',
    'uni',
    'uniform',
    'glance',
  ]);
});

// Small sizes for every method (V1's grid must fit; V1-TSM glances at 2 of the 4 frames; Uni-AdaFocus glances at 2 and chooses 3 of the 4 frames).
contractSuite(methodVariants(), {
  adafocus_v1: { grid: 3, policyHidden: 8 },
  adafocus_v1_tsm: { glanceFrames: 2, policyHidden: 8 },
  uni_adafocus: { glanceFrames: 2, focusFrames: 3, spatialHidden: 4, temporalHidden: 4, mcSamples: 4 },
});
