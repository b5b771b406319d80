export { PolicyOptionError } from './errors.js';
export { dense as seededDense, gruCell, gruRunner } from './gru.js';
export type { GruRunner } from './gru.js';
export { buildInterpModels, createInterpPolicy, wrapInterpPolicy } from './interp.js';
export type { InterpPolicy, InterpPolicyOptions, PolicyStep } from './interp.js';
export { buildRlModels, createRlPolicy, discountedReturns, gridCentres, ppoLoss, wrapRlPolicy } from './rl.js';
export type { PpoOptions, RlAction, RlEvaluation, RlPolicy, RlPolicyOptions, RlStep } from './rl.js';
export { buildCubeModels, createCubePolicy, sampleFrames, spatialProxy, temporalProxy, wrapCubePolicy } from './cube.js';
export type { CubePolicy, CubePolicyOptions } from './cube.js';
