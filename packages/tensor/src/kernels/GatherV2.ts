/**
 * GatherV2 on wasm with batchDims > 0 rewritten as one plain gather. The built-in wasm kernel gives
 * wrong values for batched gathers (found by Saccade's tests: a [3, 20, 24, 2] tensor gathered on
 * axis 1 with batchDims 1 differs from the cpu backend by up to 0.97). With x viewed as
 * [B, P, A, Q] (batch dims, dims before the axis, the axis, dims after it), the rows of
 * [B*A, P*Q] (after moving A next to B) are gathered at index + b*A. batchDims = 0 is untouched.
 */
import { util, type GatherV2Attrs, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs';

import { call, free, reshape, transpose, type Backend, wrapKernel } from './compose.js';

export const kernelName = 'GatherV2';

export function gatherV2Config(builtIn: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const backend = args.backend as Backend;
    const x = args.inputs['x'] as TensorInfo;
    const indices = args.inputs['indices'] as TensorInfo;
    const { axis, batchDims } = args.attrs as unknown as GatherV2Attrs;
    if (!batchDims) return builtIn.kernelFunc(args);
    const bd = batchDims < 0 ? batchDims + indices.shape.length : batchDims;
    const a = util.parseAxisParam(axis, x.shape)[0] as number;
    if (bd === 0) return builtIn.kernelFunc({ ...args, attrs: { ...args.attrs, batchDims: 0 } });
    const batchShape = x.shape.slice(0, bd);
    const innerShape = x.shape.slice(bd, a);
    const axisSize = x.shape[a] as number;
    const outerShape = x.shape.slice(a + 1);
    const indexShape = indices.shape.slice(bd);
    const nb = util.sizeFromShape(batchShape);
    const np = util.sizeFromShape(innerShape);
    const nq = util.sizeFromShape(outerShape);
    const ni = util.sizeFromShape(indexShape);
    const outShape = [...batchShape, ...innerShape, ...indexShape, ...outerShape];
    if (nb * np * nq * ni * axisSize === 0) return builtIn.kernelFunc(args);

    const x4 = reshape(backend, x, [nb, np, axisSize, nq]);
    const axisFirst = np > 1 ? transpose(backend, x4, [0, 2, 1, 3]) : x4;
    const rows = reshape(backend, axisFirst, [nb * axisSize, np * nq]);
    if (axisFirst !== x4) free(backend, axisFirst);
    free(backend, x4);

    const offsets = backend.makeOutput([nb, 1], 'int32');
    const offsetValues = backend.typedArrayFromHeap(offsets) as Int32Array;
    for (let b = 0; b < nb; b++) offsetValues[b] = b * axisSize;
    const idx2 = reshape(backend, indices, [nb, ni]);
    const shifted = call(backend, 'Add', { a: idx2, b: offsets });
    const flatIdx = reshape(backend, shifted, [nb * ni]);
    free(backend, offsets, idx2, shifted);

    const gathered = builtIn.kernelFunc({ inputs: { x: rows, indices: flatIdx }, backend, attrs: { axis: 0, batchDims: 0 } }) as TensorInfo;
    free(backend, rows, flatIdx);
    const g4 = reshape(backend, gathered, [nb, ni, np, nq]);
    free(backend, gathered);
    const ordered = np > 1 ? transpose(backend, g4, [0, 2, 1, 3]) : g4;
    const out = reshape(backend, ordered, outShape);
    if (ordered !== g4) free(backend, ordered);
    free(backend, g4);
    return out;
  };
  return wrapKernel(builtIn, kernelFunc);
}
