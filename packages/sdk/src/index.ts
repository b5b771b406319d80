// @saccade/sdk for Node: everything in ./universal plus datasets decoded with ffmpeg, checkpoint
// files, bundles on disk and classify(videoPath). The browser entry is '@saccade/sdk/browser'.
export * from './universal.js';
export { clearFrameCache, frameCacheDir, frameCacheEnabled, loadVideoDataset } from './node/data.js';
export type { LoadDatasetOptions } from './node/data.js';
export { fileCheckpoints, readCheckpoint, readCheckpointState, writeCheckpoint } from './node/checkpoint.js';
export { addBundleHashes, decodeVideo, ENGINES, loadModel, saveBundle } from './node/bundle.js';
export { OnnxRuntimeError } from '@saccade/onnx';
export { exportBundleOnnx } from './node/onnx.js';
export type { OnnxExportSummary } from './node/onnx.js';
export { writeVisualization } from './node/visualize.js';
export type { VisualizeOptions } from './node/visualize.js';
export type { Engine, LoadModelOptions, SaveBundleOptions } from './node/bundle.js';
export { evaluatePretrained, loadPretrained, pretrainBackbones, SHIPPED_PRETRAINED } from './node/pretrain.js';
export type { PretrainOptions } from './node/pretrain.js';
// In Node, train() loads the shipped pretrained backbones itself when the config asks for them.
export { defaultWorkers, train } from './node/train.js';
export type { NodeTrainOptions } from './node/train.js';
export { startTrainingWorkers } from './node/workers.js';
export type { TrainingWorkers } from './node/workers.js';
export { acquireRunLock, LOCK_FILE } from './node/lock.js';
export type { RunLock } from './node/lock.js';
export { cleanRunFolder } from './node/folder.js';
export { importOfficialCheckpoint } from './node/official.js';
