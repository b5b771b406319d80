/** Thrown by the leak guard when a test changes the number of live tensors. */
export class TensorLeakError extends Error {
  override name = 'TensorLeakError';
}

export function tensorLeakMessage(test: string, before: number, after: number): string {
  const delta = after - before;
  const what = delta > 0 ? `left ${delta} tensor(s) behind` : `disposed ${-delta} tensor(s) it did not create`;
  return `test "${test}" ${what} (tf.memory().numTensors ${before} -> ${after}); wrap the work in tf.tidy or dispose what it returns`;
}
