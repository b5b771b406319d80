import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';

import { ByteImages } from './bytes.js';
import { cropPatches } from './crop.js';
import { TensorArgumentError } from './errors.js';
import { hasByteKernels } from './kernels/byte_kernels.js';
import { Rng } from './random.js';
import { expectArraysClose, onBackend } from './testing/index.js';

const affine = { scale: [1 / 58.4, 1 / 57.1, 1 / 57.4], shift: [-2.1, -2.0, -1.8] };
const SHAPE = [4, 12, 16, 3] as const;

/** Two chunks of random bytes (two 'videos' of two frames) for SHAPE. */
function chunks(seed: number, shape: readonly number[] = SHAPE): Uint8Array[] {
  const rng = new Rng(seed);
  const per = shape.slice(1).reduce((a, d) => a * d, 1);
  const all = Uint8Array.from({ length: shape[0]! * per }, () => rng.int(0, 256));
  const half = (shape[0]! >> 1) * per;
  return [all.subarray(0, half), all.subarray(half)];
}

/** The reference: the bytes as floats through stock ops (average pool, cropPatches), then x * scale + shift. */
function reference(bytes: Uint8Array[], shape: readonly [number, number, number, number], f: (x: tf.Tensor4D) => tf.Tensor4D): tf.Tensor {
  const floats = new Float32Array(shape.reduce((a, d) => a * d, 1));
  let at = 0;
  for (const c of bytes) {
    floats.set(c, at);
    at += c.length;
  }
  return tf.add(tf.mul(f(tf.tensor4d(floats, [...shape])), tf.tensor1d(affine.scale)), tf.tensor1d(affine.shift));
}

describe('ByteImages', () => {
  const bytes = chunks(1);
  for (const backend of ['cpu', 'wasm']) {
    for (const factor of [1, 2, 4]) {
      it(`blockMean(${factor}) on ${backend}, packed and as floats, equals average pooling then the affine map`, async () => {
        const [packed, floats, expected] = await onBackend(backend, () => {
          const p = ByteImages.from(bytes, SHAPE);
          const q = ByteImages.from(bytes, SHAPE, { pack: false });
          expect([p.packed, q.packed]).toEqual([true, false]);
          return [
            p.blockMean(factor, affine),
            q.blockMean(factor, affine),
            reference(bytes, SHAPE, (x) => (factor === 1 ? x : tf.avgPool(x, factor, factor, 'valid'))),
          ];
        });
        expect(packed!.length).toBe((4 * 12 * 16 * 3) / factor ** 2);
        expectArraysClose(packed!, expected!, { rtol: 1e-5, atol: 1e-5, label: 'packed' });
        expectArraysClose(floats!, expected!, { rtol: 1e-5, atol: 1e-5, label: 'floats' });
      });
    }

    it(`crop on ${backend}, packed and as floats, equals cropPatches of the float frames then the affine map (borders, clamping, NaN)`, async () => {
      // Inside, both borders, fractional, clamped beyond both ends, and a NaN centre.
      const centres = new Float32Array([0.37, 0.81, 0, 1, 1.3, -0.2, Number.NaN, 0.5]);
      const [packed, floats, expected] = await onBackend(backend, () => {
        const c = tf.tensor2d(centres, [4, 2]);
        return [
          ByteImages.from(bytes, SHAPE).crop(c, [5, 7], affine),
          ByteImages.from(bytes, SHAPE, { pack: false }).crop(c, [5, 7], affine),
          reference(bytes, SHAPE, (x) => cropPatches(x, c, [5, 7])),
        ];
      });
      expect(Array.from(packed!.subarray(3 * 105)).every(Number.isNaN)).toBe(true);
      expectArraysClose(packed!, expected!, { rtol: 1e-5, atol: 1e-5, label: 'packed' });
      // The float path's NaN patch goes through a depthwise convolution, which XNNPACK (wasm)
      // clamps to -Infinity; the packed kernel keeps NaN on both backends.
      expectArraysClose(floats!.subarray(0, 3 * 105), expected!.subarray(0, 3 * 105), { rtol: 1e-5, atol: 1e-5, label: 'floats' });
    });
  }

  it("block means of a channel count other than RGB (the kernel's general path) equal the float path, on cpu and wasm", async () => {
    const shape = [2, 8, 8, 2] as const;
    const two = chunks(3, shape);
    const map = { scale: [0.5, 2], shift: [1, -3] };
    for (const backend of ['cpu', 'wasm']) {
      for (const factor of [1, 2]) {
        const [packed, floats] = await onBackend(backend, () => [
          ByteImages.from(two, shape).blockMean(factor, map),
          ByteImages.from(two, shape, { pack: false }).blockMean(factor, map),
        ]);
        expect(packed!.length).toBe(256 / factor ** 2);
        expectArraysClose(packed!, floats!, { rtol: 1e-5, atol: 1e-5, label: `${backend} x${factor}` });
      }
    }
  });

  it('packs a byte count that is not a multiple of four, and without an affine map gives the bytes themselves', async () => {
    const shape = [2, 3, 3, 3] as const; // 54 bytes
    const odd = chunks(2, shape);
    const [got] = await onBackend('wasm', () => ByteImages.from(odd, shape).blockMean(1));
    expect(Array.from(got!)).toEqual([...odd[0]!, ...odd[1]!]);
  });

  it('names what is wrong: byte count, shape, factor, affine, centres, packing where no kernels exist', () => {
    const bad = (f: () => unknown, text: RegExp) => {
      let error: unknown;
      try {
        tf.tidy(() => {
          f();
        });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(TensorArgumentError);
      expect((error as Error).message).toMatch(text);
    };
    bad(() => ByteImages.from(bytes, [4, 12, 16, 4]), /ByteImages.from: 2304 bytes given for shape \[4,12,16,4\] \(3072 bytes\)/);
    bad(() => ByteImages.from(bytes, [4, 12, 16.5, 3] as never), /positive integers/);
    bad(() => ByteImages.from(bytes, SHAPE).blockMean(5), /factor must be a positive integer dividing 12 and 16, got 5/);
    bad(() => ByteImages.from(bytes, SHAPE).blockMean(2, { scale: [1], shift: [0] }), /3 values \(one per channel\), got 1 and 1/);
    bad(() => ByteImages.from(bytes, SHAPE).crop(tf.zeros([3, 2]) as tf.Tensor2D, 5), /centres must be float32 \[4, 2\], got float32 \[3,2\]/);
    bad(() => ByteImages.from(bytes, SHAPE).crop(tf.zeros([4, 2]) as tf.Tensor2D, 13), /patch height must be an integer in \[1, 12\], got 13/);
    expect(hasByteKernels('webgl')).toBe(false);
  });
});
