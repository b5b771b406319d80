/**
 * cropPatches as two kernels, for the wasm and cpu backends: one pass over the patch pixels in
 * plain JavaScript on the backend's own memory. Every patch is a pure translation of the frame
 * (one fractional offset per patch), so the bilinear crop reads P+1 rows of P+1 pixels and mixes
 * them with four weights; the composed version (gather of every support pixel, four slices and
 * their arithmetic, a segment sum backwards) spent more time moving data than the focus network
 * spent on the patches. The kernels compute exactly what the composed crop computes (same
 * clamping, same gradient convention), and the tests hold them to it.
 *
 * SaccadeCropPatches: inputs frames [B, H, W, C], centres [B, 2]; attrs ph, pw -> [B, ph, pw, C].
 * SaccadeCropPatchesGrad: inputs dy [B, ph, pw, C], frames, centres; attrs ph, pw, withFrames ->
 * [dCentres [B, 2]] or [dCentres, dFrames [B, H, W, C]].
 */
import { getKernel, registerKernel, type DataType, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs';

export const CROP_KERNEL = 'SaccadeCropPatches';
export const CROP_GRAD_KERNEL = 'SaccadeCropPatchesGrad';

export const BACKENDS = ['wasm', 'cpu'] as const;

interface HeapBackend {
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array;
}

interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } };
  makeTensorInfo(shape: number[], dtype: DataType, values?: Float32Array): TensorInfo;
}

/**
 * Memory access for one kernel call. On wasm, allocating an output may grow the heap and detach
 * views taken before it, so a kernel allocates all its outputs first and reads its inputs after.
 */
export interface Access {
  alloc(shape: number[]): TensorInfo;
  view(info: TensorInfo): Float32Array;
}

export function access(backendName: string, backend: unknown): Access {
  if (backendName === 'wasm') {
    const b = backend as HeapBackend;
    return { alloc: (shape) => b.makeOutput(shape, 'float32'), view: (info) => b.typedArrayFromHeap(info) };
  }
  const b = backend as CpuBackend;
  return {
    alloc: (shape) => b.makeTensorInfo(shape, 'float32', new Float32Array(shape.reduce((a, d) => a * d, 1))),
    view: (info) => b.data.get(info.dataId).values as Float32Array,
  };
}

/** Integer corner and fractional offset of one patch along one axis (centre clamped to [0, 1]). */
function corner(c: number, frame: number, patch: number): [floor: number, frac: number, inside: number] {
  const clamped = Math.min(Math.max(c, 0), 1);
  const pos = Math.fround(clamped * (frame - patch));
  const floor = Math.floor(pos);
  return [floor, pos - floor, c >= 0 && c <= 1 ? 1 : 0];
}

/**
 * The bilinear crop's forward loop: patches [B, ph, pw, C] into `o` from frames `f` [B, H, W, C]
 * (float values, or 8-bit ones for the byte kernels) at centres `c` [B, 2]; with `affine`, every
 * output value is then mapped to v * scale[q] + shift[q] (channel q).
 */
export function bilinearPatches(
  f: Float32Array | Uint8Array,
  c: Float32Array,
  o: Float32Array,
  [b, h, w, ch]: readonly [number, number, number, number],
  ph: number,
  pw: number,
  affine?: { scale: readonly number[]; shift: readonly number[] },
): void {
  const scale = Float64Array.from({ length: ch }, (_, q) => affine?.scale[q] ?? 1);
  const shift = Float64Array.from({ length: ch }, (_, q) => affine?.shift[q] ?? 0);
  const rowStride = w * ch;
  let k = 0;
  for (let n = 0; n < b; n++) {
    const [y0, fy] = corner(c[2 * n] as number, h, ph);
    const [x0, fx] = corner(c[2 * n + 1] as number, w, pw);
    if (Number.isNaN(fy) || Number.isNaN(fx)) {
      o.fill(NaN, k, k + ph * pw * ch);
      k += ph * pw * ch;
      continue;
    }
    const frameBase = n * h * rowStride;
    for (let i = 0; i < ph; i++) {
      const r0 = y0 + i;
      const r1 = Math.min(r0 + 1, h - 1);
      const base0 = frameBase + r0 * rowStride;
      const base1 = frameBase + r1 * rowStride;
      for (let j = 0; j < pw; j++) {
        const c0 = (x0 + j) * ch;
        const c1 = Math.min(x0 + j + 1, w - 1) * ch;
        for (let q = 0; q < ch; q++) {
          const a = f[base0 + c0 + q] as number;
          const bb = f[base0 + c1 + q] as number;
          const cc = f[base1 + c0 + q] as number;
          const d = f[base1 + c1 + q] as number;
          // As the composed crop: rows first, then columns.
          const left = a + fy * (cc - a);
          const right = bb + fy * (d - bb);
          const v = left + fx * (right - left);
          o[k++] = affine ? v * (scale[q] as number) + (shift[q] as number) : v;
        }
      }
    }
  }
}

function cropKernel(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const frames = inputs['frames'] as TensorInfo;
    const centres = inputs['centres'] as TensorInfo;
    const { ph, pw } = attrs as unknown as { ph: number; pw: number };
    const [b, h, w, ch] = frames.shape as [number, number, number, number];
    const mem = access(backendName, backend);
    const out = mem.alloc([b, ph, pw, ch]);
    const o = mem.view(out);
    const f = mem.view(frames);
    const c = mem.view(centres);
    bilinearPatches(f, c, o, [b, h, w, ch], ph, pw);
    return out;
  };
}

function cropGradKernel(backendName: string): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const dyInfo = inputs['dy'] as TensorInfo;
    const frames = inputs['frames'] as TensorInfo;
    const centres = inputs['centres'] as TensorInfo;
    const { ph, pw, withFrames } = attrs as unknown as { ph: number; pw: number; withFrames: boolean };
    const [b, h, w, ch] = frames.shape as [number, number, number, number];
    const mem = access(backendName, backend);
    const dcInfo = mem.alloc([b, 2]);
    const dfInfo = withFrames ? mem.alloc([b, h, w, ch]) : undefined;
    const dc = mem.view(dcInfo);
    const df = dfInfo ? mem.view(dfInfo) : undefined;
    df?.fill(0);
    const dy = mem.view(dyInfo);
    const f = mem.view(frames);
    const c = mem.view(centres);
    const rowStride = w * ch;
    let k = 0;
    for (let n = 0; n < b; n++) {
      const [y0, fy, insideY] = corner(c[2 * n] as number, h, ph);
      const [x0, fx, insideX] = corner(c[2 * n + 1] as number, w, pw);
      const frameBase = n * h * rowStride;
      let gy = 0;
      let gx = 0;
      for (let i = 0; i < ph; i++) {
        const r0 = y0 + i;
        const r1 = Math.min(r0 + 1, h - 1);
        const base0 = frameBase + r0 * rowStride;
        const base1 = frameBase + r1 * rowStride;
        for (let j = 0; j < pw; j++) {
          const c0 = (x0 + j) * ch;
          const c1 = Math.min(x0 + j + 1, w - 1) * ch;
          for (let q = 0; q < ch; q++) {
            const g = dy[k++] as number;
            const a = f[base0 + c0 + q] as number;
            const bb = f[base0 + c1 + q] as number;
            const cc = f[base1 + c0 + q] as number;
            const d = f[base1 + c1 + q] as number;
            gy += g * ((1 - fx) * (cc - a) + fx * (d - bb));
            gx += g * (bb + fy * (d - bb) - (a + fy * (cc - a)));
            if (df) {
              const i00 = base0 + c0 + q;
              const i01 = base0 + c1 + q;
              const i10 = base1 + c0 + q;
              const i11 = base1 + c1 + q;
              df[i00] = (df[i00] as number) + g * (1 - fy) * (1 - fx);
              df[i01] = (df[i01] as number) + g * (1 - fy) * fx;
              df[i10] = (df[i10] as number) + g * fy * (1 - fx);
              df[i11] = (df[i11] as number) + g * fy * fx;
            }
          }
        }
      }
      dc[2 * n] = gy * (h - ph) * insideY;
      dc[2 * n + 1] = gx * (w - pw) * insideX;
    }
    return dfInfo ? [dcInfo, dfInfo] : [dcInfo];
  };
}

/**
 * A `has…Kernels(backendName)` for a set of Saccade kernels (name -> kernel for a backend): on wasm
 * and cpu it registers those not registered yet, the first time it is asked, and says true; on
 * any other backend false.
 */
export function kernelRegistrar(kernels: Record<string, (backendName: string) => KernelFunc>): (backendName: string) => boolean {
  const registered = new Set<string>();
  return (backendName) => {
    if (!(BACKENDS as readonly string[]).includes(backendName)) return false;
    if (!registered.has(backendName)) {
      for (const [kernelName, make] of Object.entries(kernels)) {
        if (!getKernel(kernelName, backendName)) registerKernel({ kernelName, backendName, kernelFunc: make(backendName) });
      }
      registered.add(backendName);
    }
    return true;
  };
}

/**
 * Register the crop kernels for `backendName` if Saccade has them for it (wasm, cpu) and they are
 * not registered yet. Returns whether the backend has them.
 */
export const hasCropKernels = kernelRegistrar({ [CROP_KERNEL]: cropKernel, [CROP_GRAD_KERNEL]: cropGradKernel });
