export { BACKBONE_NAMES, countParams, createBackbone, describeBackbones } from './backbone.js';
export type { Backbone, BackboneOptions } from './backbone.js';
export {
  BACKBONE_ERROR_CODES,
  BackboneError,
  BackboneOptionError,
  UnknownBackboneError,
  UnsafeCheckpointError,
  WeightFormatError,
  WeightMismatchError,
} from './errors.js';
export type { BackboneErrorCode } from './errors.js';
export type { PaddingMode } from './layers.js';
export { makeDivisible } from './mobilenet_v2.js';
export { TemporalShift, temporalShift } from './temporal_shift.js';
export type { TemporalShiftOptions } from './temporal_shift.js';
export { countFlops } from './flops.js';
export { featureMapGeometry } from './geometry.js';
export { backboneOutputs, describeBackboneOutputs, namedBackbone } from './outputs.js';
export type { BackboneOutputs, BackboneOutputShapes, NamedBackbone } from './outputs.js';
export type { MapGeometry } from './geometry.js';
export type { FlopsReport, LayerFlops } from './flops.js';
export { loadKerasWeights } from './weights/keras.js';
export { loadTorchvisionState, loadTorchvisionWeights, saveTorchvisionWeights } from './weights/torchvision.js';
export { readTorchCheckpoint, torchStateDict } from './weights/torch.js';
export type { TorchTensor, TorchValue } from './weights/torch.js';
export { readSafetensors, writeSafetensors } from './weights/safetensors.js';
export type { SafetensorsDtype, SafetensorsEntry } from './weights/safetensors.js';
export type { LoadReport } from './weights/assign.js';
