import {
  UnsortedSegmentSum,
  util,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  type UnsortedSegmentSumAttrs,
  type UnsortedSegmentSumInputs,
} from '@tensorflow/tfjs';

import { call, free, reshape, type Backend, type Inputs } from './compose.js';

/**
 * UnsortedSegmentSum on wasm (the gradient of gather): a ScatterNd, which adds updates that share an
 * index, over the rows of x. O(size of x), where the cpu kernel makes one mask per segment. Ids
 * outside [0, numSegments) are dropped, as in TensorFlow: they go to one spare segment that is cut off.
 */
function unsortedSegmentSum(args: { inputs: UnsortedSegmentSumInputs; backend: Backend; attrs: UnsortedSegmentSumAttrs }) {
  const { inputs, backend, attrs } = args;
  const { x, segmentIds } = inputs as unknown as Inputs<'x' | 'segmentIds'>;
  const { numSegments } = attrs;
  const idsShape = segmentIds.shape;
  util.assert(
    util.arraysEqual(x.shape.slice(0, idsShape.length), idsShape),
    () => `UnsortedSegmentSum: segmentIds shape [${idsShape}] must be a prefix of x shape [${x.shape}]`,
  );
  const rows = util.sizeFromShape(idsShape);
  const rowShape = x.shape.slice(idsShape.length);
  const ids = backend.readSync(segmentIds.dataId) as Int32Array | Float32Array;
  let dropped = false;
  for (let i = 0; i < rows; i++) {
    const id = ids[i] as number;
    if (id < 0 || id >= numSegments || !Number.isInteger(id)) {
      dropped = true;
      break;
    }
  }
  const indices = backend.makeOutput([rows, 1], 'int32');
  const target = backend.typedArrayFromHeap(indices) as Int32Array;
  for (let i = 0; i < rows; i++) {
    const id = ids[i] as number;
    target[i] = id < 0 || id >= numSegments || !Number.isInteger(id) ? numSegments : id;
  }
  const updates = reshape(backend, x, [rows, ...rowShape]);
  const segments = dropped ? numSegments + 1 : numSegments;
  const scattered: TensorInfo = call(backend, 'ScatterNd', { indices, updates }, { shape: [segments, ...rowShape] });
  free(backend, indices, updates);
  if (!dropped) return scattered;
  const kept = call(
    backend,
    'Slice',
    { x: scattered },
    {
      begin: [0, ...rowShape.map(() => 0)],
      size: [numSegments, ...rowShape],
    },
  );
  free(backend, scattered);
  return kept;
}

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: UnsortedSegmentSum,
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as unknown as KernelFunc,
};
