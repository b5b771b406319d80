// What users of @saccade/sdk call, in Node and in the browser. The building blocks the SDK's own
// modules share (classifier builders, the optimizer, bundle metadata checks, step-logit tables,
// backbone transfer) are at '@saccade/sdk/internal': reachable, but not part of the stable surface.
export { checkParts, createVideoNet } from './create.js';
export { importOfficialState, officialMethods } from './official.js';
export { coarseToFine, frameOrder, reorderFrames } from './frame_order.js';
export type { FrameOrderKind } from './frame_order.js';
export type { OfficialImportResult } from './official.js';
export type { ForwardResult, PatchSource, StepOutput, StepState, VideoNet } from './video_net.js';
export { configDifferences, configFields, configSchemaFor, describeDifferences, parseConfig, trainingStages, withoutIdleFields } from './config.js';
export type { BaseConfig, ConfigDifference, ConfigOf, TrainConfig, TrainConfigInput, TrainingStage } from './config.js';
export { BASE_FIELDS } from './config/base.js';
export {
  fieldOwners,
  methodSpec,
  methodVariant,
  methodVariants,
  registeredMethods,
  registerMethod,
  RETIRED_METHODS,
  unregisterMethod,
} from './methods/registry.js';
export type { AnyMethodSpec, MethodSpec, MethodVariant, OfficialImport, OfficialOptions, PartSpec } from './methods/spec.js';
export type { AdaFocusV1Config } from './methods/adafocus_v1/index.js';
export type { AdaFocusV2Config } from './methods/adafocus_v2/index.js';
export type { UniAdaFocusConfig } from './methods/uni_adafocus/index.js';
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
  TrainingWorkerError,
} from './errors.js';
export type { SdkErrorCode } from './errors.js';
export { evaluate, train } from './train.js';
export type { Pretrained, PretrainedInfo } from './pretrained.js';
export { SACCADE_VERSION } from './bundle.js';
export { calibrateExits } from './exit.js';
export type { BatchProgress, Checkpoint, CheckpointStore, EpochRecord, EvalResult, TrainOptions, TrainResult } from './train.js';
export type { Chunk, GradientPeers, PeerResult } from './peers.js';
export { BUNDLE_FORMAT, BUNDLE_VERSION, errorCode, SaccadeModel } from './model.js';
export { bindEngine, deriveModel, engineOf } from './engine.js';
export type { InferenceEngine } from './engine.js';
export type { BundleMeta, ClassifyOptions, ClassifyOutcome, ClassifyResult, ClassifyStep, ExitBudget, FramesInput, VideoDecoder } from './model.js';
export { CURVE_FRACTIONS, curveTargets, exitBudgetCurve, finalStepMap, measureThroughput, measureThroughputInterleaved } from './evaluation.js';
