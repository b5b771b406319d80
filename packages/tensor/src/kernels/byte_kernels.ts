/**
 * Kernels on 8-bit images packed four bytes to an int32 element, for the wasm and cpu backends:
 * one JavaScript pass over the bytes on the backend's own memory, so that decoded frames go to the
 * backend at a quarter of their float size and no full-resolution float copy of them is ever made.
 *
 * SaccadeBytesBlockMean: input bytes (int32 [ceil(N*H*W*C / 4)]); attrs shape [N, H, W, C], factor
 * f, scale [C], shift [C] -> float32 [N, H/f, W/f, C]: the mean of every f x f block, then
 * v * scale + shift per channel (f = 1: the bytes as floats, mapped).
 * SaccadeBytesCrop: inputs bytes, centres [N, 2]; attrs shape, ph, pw, scale, shift -> float32
 * [N, ph, pw, C]: cropPatches' bilinear patches of the bytes, then mapped.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';

import { access, bilinearPatches, kernelRegistrar } from './crop_kernels.js';

export const BYTES_BLOCK_MEAN_KERNEL = 'SaccadeBytesBlockMean';
export const BYTES_CROP_KERNEL = 'SaccadeBytesCrop';

interface ByteAttrs {
  shape: [number, number, number, number];
  scale: number[];
  shift: number[];
}

/** The packed int32 data of `info` as its first `count` bytes. */
function byteView(backendName: string, backend: unknown, info: TensorInfo, count: number): Uint8Array {
  const values =
    backendName === 'wasm'
      ? (backend as { typedArrayFromHeap(i: TensorInfo): Int32Array }).typedArrayFromHeap(info)
      : ((backend as { data: { get(id: object): { values?: unknown } } }).data.get(info.dataId).values as Int32Array);
  return new Uint8Array(values.buffer, values.byteOffset, count);
}

function blockMeanKernel(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { shape, factor, scale, shift } = attrs as unknown as ByteAttrs & { factor: number };
    const [n, h, w, ch] = shape;
    const oh = h / factor;
    const ow = w / factor;
    const mem = access(backendName, backend);
    const out = mem.alloc([n, oh, ow, ch]);
    const o = mem.view(out);
    const u = byteView(backendName, backend, inputs['bytes'] as TensorInfo, n * h * w * ch);
    const mul = Float64Array.from(scale, (s) => s / (factor * factor));
    const add = Float64Array.from(shift);
    if (factor === 1 && ch === 3) {
      const [m0, m1, m2] = mul as unknown as [number, number, number];
      const [a0, a1, a2] = add as unknown as [number, number, number];
      for (let i = 0; i < u.length; i += 3) {
        o[i] = (u[i] as number) * m0 + a0;
        o[i + 1] = (u[i + 1] as number) * m1 + a1;
        o[i + 2] = (u[i + 2] as number) * m2 + a2;
      }
      return out;
    }
    if (factor === 1) {
      for (let i = 0, q = 0; i < u.length; i++) {
        o[i] = (u[i] as number) * (mul[q] as number) + (add[q] as number);
        if (++q === ch) q = 0;
      }
      return out;
    }
    if (ch === 3) {
      // RGB (every decoded video): three running sums in locals, one output pixel at a time.
      const [m0, m1, m2] = mul as unknown as [number, number, number];
      const [a0, a1, a2] = add as unknown as [number, number, number];
      const rowBytes = w * 3;
      let k = 0;
      for (let r = 0; r < n * oh; r++) {
        const top = r * factor * rowBytes;
        for (let j = 0; j < ow; j++) {
          let s0 = 0;
          let s1 = 0;
          let s2 = 0;
          for (let a = 0; a < factor; a++) {
            let idx = top + a * rowBytes + j * factor * 3;
            for (let bcol = 0; bcol < factor; bcol++, idx += 3) {
              s0 += u[idx] as number;
              s1 += u[idx + 1] as number;
              s2 += u[idx + 2] as number;
            }
          }
          o[k++] = s0 * m0 + a0;
          o[k++] = s1 * m1 + a1;
          o[k++] = s2 * m2 + a2;
        }
      }
      return out;
    }
    // Any channel count: running sums of one output row.
    const rowLength = ow * ch;
    const acc = new Float64Array(rowLength);
    let k = 0;
    for (let r = 0; r < n * oh; r++) {
      acc.fill(0);
      for (let a = 0; a < factor; a++) {
        let idx = (r * factor + a) * w * ch;
        for (let j = 0; j < ow; j++) {
          const base = j * ch;
          for (let bcol = 0; bcol < factor; bcol++) {
            for (let q = 0; q < ch; q++) acc[base + q] = (acc[base + q] as number) + (u[idx++] as number);
          }
        }
      }
      for (let j = 0; j < rowLength; j++) {
        const q = j % ch;
        o[k++] = (acc[j] as number) * (mul[q] as number) + (add[q] as number);
      }
    }
    return out;
  };
}

function cropKernel(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const { shape, ph, pw, scale, shift } = attrs as unknown as ByteAttrs & { ph: number; pw: number };
    const [n, h, w, ch] = shape;
    const mem = access(backendName, backend);
    const out = mem.alloc([n, ph, pw, ch]);
    const o = mem.view(out);
    const u = byteView(backendName, backend, inputs['bytes'] as TensorInfo, n * h * w * ch);
    const c = mem.view(inputs['centres'] as TensorInfo);
    bilinearPatches(u, c, o, shape, ph, pw, { scale, shift });
    return out;
  };
}

/** Register the byte kernels for `backendName` where Saccade has them (wasm, cpu); whether it has them. */
export const hasByteKernels = kernelRegistrar({ [BYTES_BLOCK_MEAN_KERNEL]: blockMeanKernel, [BYTES_CROP_KERNEL]: cropKernel });
