/**
 * Tile on wasm as one broadcasting Multiply. The built-in wasm Tile is a per-element index loop
 * (about 200 ms to tile a [1,1,1,32] row to [32,48,48,32], 35x slower than a broadcast multiply of
 * the same size), and tfjs's batch-norm gradient tiles a per-channel vector to the whole
 * activation, which made it the largest share of a training step.
 *
 * x of shape [d0, d1, ...] tiled by [r0, r1, ...] equals x viewed as [1, d0, 1, d1, ...] times
 * ones of shape [r0, 1, r1, 1, ...], read as [r0*d0, r1*d1, ...]. The ones are as small as the reps.
 */
import { Tile, util, type KernelConfig, type KernelFunc, type TensorInfo, type TileAttrs } from '@tensorflow/tfjs';

import { call, free, reshape, wrapKernel, type Backend } from './compose.js';

export const kernelName = Tile;

export function tileConfig(builtIn: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const backend = args.backend as Backend;
    const x = args.inputs['x'] as TensorInfo;
    const { reps } = args.attrs as unknown as TileAttrs;
    if (x.dtype !== 'float32' && x.dtype !== 'int32') return builtIn.kernelFunc(args);
    const viewShape: number[] = [];
    const onesShape: number[] = [];
    const outShape: number[] = [];
    x.shape.forEach((d, i) => {
      const r = reps[i] ?? 1;
      if (r > 1) {
        viewShape.push(1);
        onesShape.push(r);
      }
      if (d > 1 || r === 1) {
        viewShape.push(d);
        onesShape.push(1);
      }
      outShape.push(d * r);
    });
    if (util.sizeFromShape(outShape) === 0 || util.arraysEqual(outShape, x.shape)) return builtIn.kernelFunc(args);
    const view = reshape(backend, x, viewShape);
    const ones = call(backend, 'Fill', {}, { shape: onesShape, value: 1, dtype: x.dtype });
    const product = call(backend, 'Multiply', { a: view, b: ones });
    free(backend, view, ones);
    const out = reshape(backend, product, outShape);
    free(backend, product);
    return out;
  };
  return wrapKernel(builtIn, kernelFunc);
}
