export { BACKEND_ORDER, backendInfo, describeBackend, initBackend, parseBackendName } from './backend.js';
export type { BackendInfo, BackendName } from './backend.js';
export { ByteImages } from './bytes.js';
export type { ChannelAffine } from './bytes.js';
export { cropPatches, cropPatchesComposed } from './crop.js';
export { cropBoxes } from './crop_boxes.js';
export type { CropBoxesOptions } from './crop_boxes.js';
export type { CropOptions, PatchSize } from './crop.js';
export {
  BackendUnavailableError,
  hasErrorMark,
  markError,
  SaccadeError,
  SaccadeTensorError,
  TENSOR_ERROR_CODES,
  TensorArgumentError,
  UnknownBackendError,
} from './errors.js';
export type { TensorErrorCode } from './errors.js';
export { hasByteKernels } from './kernels/byte_kernels.js';
export { registerWasmKernels, WASM_KERNELS } from './kernels/register.js';
export { createRng, deriveSeed, Rng } from './random.js';
export { FAST_GRADIENTS, registerFastGradients, restoreTfjsGradients } from './gradients/register.js';
export { stopGradient } from './ops.js';
