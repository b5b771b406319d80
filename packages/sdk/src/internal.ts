// @saccade/sdk/internal: the building blocks the SDK's own modules share. Reachable for those who
// build on the SDK's parts (a new method, another bundle loader), but not part of its stable
// surface: names here may change in a minor version.
export { createGruClassifier, createStepClassifier, wrapGruClassifier, wrapStepClassifier } from './classifier.js';
export type { ClassifierOptions, GruClassifier, StepClassifier } from './classifier.js';
export { cosineLr, PartOptimizer } from './optimizer.js';
export type { OptimizerOptions } from './optimizer.js';
export { checkPretrained, initBackbones } from './pretrained.js';
export { checkMeta, createMeta, loadBundleWith } from './bundle.js';
export { stepGflopsTable, stepLogits } from './exit.js';
export { withLegacyValues } from './config.js';
export { policyMapCells, previousStageShape } from './net_common.js';
