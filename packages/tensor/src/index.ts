export { BACKEND_ORDER, backendInfo, describeBackend, initBackend, parseBackendName } from './backend.js';
export type { BackendInfo, BackendName } from './backend.js';
export { cropPatches, cropPatchesComposed } from './crop.js';
export type { CropOptions, PatchSize } from './crop.js';
export { BackendUnavailableError, SaccadeTensorError, TensorArgumentError, UnknownBackendError } from './errors.js';
export { registerWasmKernels, WASM_KERNELS } from './kernels/register.js';
export { createRng, deriveSeed, Rng } from './random.js';
export { FAST_GRADIENTS, registerFastGradients, restoreTfjsGradients } from './gradients/register.js';
export { stopGradient } from './ops.js';
