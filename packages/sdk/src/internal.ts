// @saccade/sdk/internal: the building blocks the SDK's own modules share. Reachable for those who
// build on the SDK's parts (a new method, another bundle loader), but not part of its stable
// surface: names here may change in a minor version.
export { createGruClassifier, createStepClassifier, wrapGruClassifier, wrapStepClassifier } from './classifier.js';
export type { ClassifierOptions, GruClassifier, StepClassifier } from './classifier.js';
export { cosineLr, PartOptimizer } from './optimizer.js';
export type { OptimizerOptions, StageOptimizer } from './optimizer.js';
export { checkPretrained, initBackbones } from './pretrained.js';
export { checkMeta, createMeta, loadBundleWith, migrateBundleV1 } from './bundle.js';
export { stepGflopsTable, stepLogits } from './exit.js';
export { migrateConfigV1, VERSION_1_VALUES } from './config/v1.js';
export { createFrameBaseline } from './methods/frames.js';
export { ADAFOCUS_V1, PAPER_V1, policyRewards, v1Action } from './methods/adafocus_v1/index.js';
export { v1Stages } from './methods/adafocus_v1/stages.js';
export type { V1Stage, V1StageKind } from './methods/adafocus_v1/stages.js';
export { ADAFOCUS_V2, PAPER_V2 } from './methods/adafocus_v2/index.js';
export { UNI_ADAFOCUS } from './methods/uni_adafocus/index.js';
export { GLANCE } from './methods/glance/index.js';
export { UNIFORM } from './methods/uniform/index.js';
export {
  backbone,
  backboneMacs,
  checkFrames,
  checkPixels,
  checkStep,
  denseMacs,
  downscale,
  frameAt,
  pixelsAt,
  pixelState,
  policyMapCells,
  previousStageShape,
  stateVideo,
  withStepInputs,
} from './net_common.js';
export { normalisationAffine } from './dataset.js';
