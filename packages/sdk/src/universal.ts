// What users of @saccade/sdk call, in Node and in the browser. The building blocks the SDK's own
// modules share (classifier builders, the optimizer, bundle metadata checks, step-logit tables,
// backbone transfer) are at '@saccade/sdk/internal': reachable, but not part of the stable surface.
export { createVideoNet } from './adafocus.js';
export type { ForwardResult, PatchSource, StepOutput, StepState, VideoNet } from './adafocus.js';
export {
  checkFieldsApply,
  configDifferences,
  configSchema,
  describeDifferences,
  METHOD_SPECIFIC_FIELDS,
  METHODS,
  parseConfig,
  trainingStages,
} from './config.js';
export type { ConfigDifference, Method, TrainConfig, TrainConfigInput, TrainingStage } from './config.js';
export { datasetFromArrays, normalise, rawPixels } from './dataset.js';
export type { ArrayDatasetOptions, Normalisation, VideoDataset } from './dataset.js';
export {
  BundleError,
  CheckpointError,
  ConfigError,
  DatasetError,
  InputError,
  RunLockedError,
  SaccadeSdkError,
  SDK_ERROR_CODES,
  TrainingDivergedError,
} from './errors.js';
export type { SdkErrorCode } from './errors.js';
export { evaluate, train } from './train.js';
export type { Pretrained, PretrainedInfo } from './pretrained.js';
export { SACCADE_VERSION } from './bundle.js';
export { calibrateExits } from './exit.js';
export type { BatchProgress, Checkpoint, CheckpointStore, EpochRecord, EvalResult, TrainOptions, TrainResult } from './train.js';
export { BUNDLE_FORMAT, BUNDLE_VERSION, errorCode, SaccadeModel } from './model.js';
export type { BundleMeta, ClassifyOptions, ClassifyOutcome, ClassifyResult, ExitBudget, FramesInput, VideoDecoder } from './model.js';
export { METHOD_VARIANTS, methodVariant } from './methods.js';
export type { MethodVariant, MethodVariantName } from './methods.js';
export { CURVE_FRACTIONS, exitBudgetCurve, finalStepMap, measureThroughput, measureThroughputInterleaved } from './evaluation.js';
