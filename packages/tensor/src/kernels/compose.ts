/**
 * Helpers for kernels composed from other wasm kernels. A composed kernel calls the registered
 * wasm kernelFuncs directly (as tfjs's own kernels do), so intermediate results are backend data
 * the engine does not track: every intermediate must be freed with `free` before returning.
 */
import type { backend_util } from '@tensorflow/tfjs';
import { getKernel, type DataType, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export type Backend = BackendWasm;

export function call(backend: Backend, kernelName: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
  const kernel = getKernel(kernelName, 'wasm');
  if (!kernel) throw new Error(`@saccade/tensor: wasm kernel ${kernelName} is not registered`);
  const out = kernel.kernelFunc({ inputs, backend, attrs });
  if (Array.isArray(out)) throw new Error(`@saccade/tensor: wasm kernel ${kernelName} returned several outputs`);
  return out;
}

export function free(backend: Backend, ...infos: (TensorInfo | undefined)[]): void {
  for (const info of infos) if (info) backend.disposeData(info.dataId);
}

export function reshape(backend: Backend, x: TensorInfo, shape: number[]): TensorInfo {
  return call(backend, 'Reshape', { x }, { shape });
}

export function transpose(backend: Backend, x: TensorInfo, perm: number[]): TensorInfo {
  return call(backend, 'Transpose', { x }, { perm });
}

export function sumLastAxis(backend: Backend, x: TensorInfo): TensorInfo {
  return call(backend, 'Sum', { x }, { axis: [x.shape.length - 1], keepDims: false });
}

export function cast(backend: Backend, x: TensorInfo, dtype: DataType): TensorInfo {
  return call(backend, 'Cast', { x }, { dtype });
}

/**
 * Pad (positive amounts) or crop (negative amounts) the two spatial axes of an NHWC tensor.
 * Returns x itself (not a copy) when nothing changes; the caller must not free it twice.
 */
export function padOrCropSpatial(backend: Backend, x: TensorInfo, top: number, bottom: number, left: number, right: number): TensorInfo {
  let t = x;
  const [n, h, w, c] = t.shape as [number, number, number, number];
  const cropTop = Math.max(0, -top);
  const cropBottom = Math.max(0, -bottom);
  const cropLeft = Math.max(0, -left);
  const cropRight = Math.max(0, -right);
  if (cropTop + cropBottom + cropLeft + cropRight > 0) {
    const sliced = call(
      backend,
      'Slice',
      { x: t },
      {
        begin: [0, cropTop, cropLeft, 0],
        size: [n, h - cropTop - cropBottom, w - cropLeft - cropRight, c],
      },
    );
    t = sliced;
  }
  const padTop = Math.max(0, top);
  const padBottom = Math.max(0, bottom);
  const padLeft = Math.max(0, left);
  const padRight = Math.max(0, right);
  if (padTop + padBottom + padLeft + padRight > 0) {
    const padded = call(
      backend,
      'PadV2',
      { x: t },
      {
        paddings: [
          [0, 0],
          [padTop, padBottom],
          [padLeft, padRight],
          [0, 0],
        ],
        constantValue: 0,
      },
    );
    if (t !== x) free(backend, t);
    t = padded;
  }
  return t;
}

/**
 * Insert (stride - 1) zeros between the rows and the columns of an NHWC tensor, and after the last
 * ones: [N, H, W, C] -> [N, H*sh, W*sw, C]. This is the "fractional stride" input of a transposed
 * convolution, built from a reshape and one pad so that it stays in wasm kernels.
 */
export function insertZeros(backend: Backend, x: TensorInfo, sh: number, sw: number): TensorInfo {
  if (sh === 1 && sw === 1) return x;
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const r = reshape(backend, x, [n, h, 1, w, 1, c]);
  const padded = call(
    backend,
    'PadV2',
    { x: r },
    {
      paddings: [
        [0, 0],
        [0, 0],
        [0, sh - 1],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ],
      constantValue: 0,
    },
  );
  free(backend, r);
  const out = reshape(backend, padded, [n, h * sh, w * sw, c]);
  free(backend, padded);
  return out;
}

export type ConvInfo = backend_util.Conv2DInfo;

export function assertChannelsLast(kernelName: string, dataFormat: unknown): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`@saccade/tensor wasm ${kernelName}: only NHWC (channelsLast) is supported, got ${String(dataFormat)}`);
  }
}

/** Kernel inputs with every named tensor present (tfjs types them as possibly undefined). */
export type Inputs<K extends string> = Record<K, TensorInfo>;

const WRAPS = Symbol.for('saccade.wraps');

/**
 * A wasm kernel that replaces a built-in one and may call it (kept on the config). The built-in's
 * setupFunc and disposeFunc travel with the wrapper: tfjs runs the registered kernels' setupFunc
 * on every new backend instance (after `tf.engine().reset()` and `setBackend('wasm')`), and the
 * built-in binds its wasm functions there. A wrapper without them would call functions of the
 * first, disposed wasm module and abort it.
 */
export function wrapKernel(builtIn: KernelConfig, kernelFunc: KernelFunc): KernelConfig {
  return {
    kernelName: builtIn.kernelName,
    backendName: 'wasm',
    kernelFunc,
    ...(builtIn.setupFunc ? { setupFunc: builtIn.setupFunc } : {}),
    ...(builtIn.disposeFunc ? { disposeFunc: builtIn.disposeFunc } : {}),
    [WRAPS]: builtIn,
  } as KernelConfig;
}

/** Whether a registered kernel is already one of Saccade's wrappers (registration is idempotent). */
export function isSaccadeWrapper(config: KernelConfig | undefined): boolean {
  return config !== undefined && WRAPS in config;
}
