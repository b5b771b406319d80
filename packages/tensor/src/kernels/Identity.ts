/**
 * Identity on wasm without a copy. The built-in wasm Identity copies the whole buffer, and the
 * tfjs engine clones (runs Identity on) every tensor it saves for the backward pass, so a
 * MobileNetV2-style training step made ~480 full copies (7% of the step). Tensors are immutable,
 * so sharing the data with a reference count, as the wasm Reshape kernel already does, is safe.
 */
import { Identity, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs';

import { wrapKernel, type Backend } from './compose.js';

export const kernelName = Identity;

export function identityConfig(builtIn: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const x = args.inputs['x'] as TensorInfo;
    if (x.dtype === 'string') return builtIn.kernelFunc(args);
    (args.backend as Backend).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
  return wrapKernel(builtIn, kernelFunc);
}
