/**
 * Shared test helpers (the `@saccade/tensor/testing` subpath): every package holds its kernels and
 * gradients to the same tolerances, against the cpu backend or finite differences.
 */
import * as tf from '@tensorflow/tfjs';

import type { Rng } from '../random.js';

/** float32 tolerances for comparing a fast backend with the cpu reference. */
export const TOLERANCE = { rtol: 1e-4, atol: 1e-4 } as const;

export interface CloseOptions {
  rtol?: number;
  atol?: number;
  /** Named in the failure message. */
  label?: string;
}

/** Throw if |a - e| > atol + rtol * |e| anywhere, naming the worst element. */
export function expectArraysClose(actual: ArrayLike<number>, expected: ArrayLike<number>, options: CloseOptions = {}): void {
  const rtol = options.rtol ?? TOLERANCE.rtol;
  const atol = options.atol ?? TOLERANCE.atol;
  const label = options.label ? `${options.label}: ` : '';
  if (actual.length !== expected.length) {
    throw new Error(`${label}length ${actual.length} != expected ${expected.length}`);
  }
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    // A non-finite expected value (±Infinity, NaN) is matched exactly: |a - Infinity| minus an
    // infinite tolerance is NaN, which no comparison would catch.
    const excess = Number.isFinite(e) ? Math.abs(a - e) - (atol + rtol * Math.abs(e)) : Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e)) ? 0 : Infinity;
    if (Number.isNaN(a) !== Number.isNaN(e) || excess > worstExcess) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  if (worst >= 0) {
    throw new Error(`${label}arrays differ at ${worst}: ${actual[worst]} vs expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}

/** Largest absolute value, for scaling tolerances of sums over many terms. */
export function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i] as number));
  return m;
}

/**
 * Run `fn` on the named backend and return its outputs as plain arrays; every tensor it made is
 * freed and the previous backend restored. Inputs are given as data so each backend builds its own.
 */
export async function onBackend(backend: string, fn: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  const previous = tf.getBackend();
  await tf.setBackend(backend);
  try {
    const out = tf.tidy(fn);
    const list = Array.isArray(out) ? out : [out];
    const data = list.map((t) => Float32Array.from(t.dataSync()));
    tf.dispose(list);
    return data;
  } finally {
    await tf.setBackend(previous);
  }
}

/**
 * Central finite differences of a scalar function of one tensor's data (computed in float64 on the
 * JS side around each perturbed element), for checking gradients.
 */
export function finiteDifferences(f: (x: tf.Tensor) => tf.Scalar, x: Float32Array, shape: number[], eps: number, indices?: number[]): Float64Array {
  const which = indices ?? Array.from({ length: x.length }, (_, i) => i);
  const out = new Float64Array(which.length);
  which.forEach((index, k) => {
    const plus = Float32Array.from(x);
    const minus = Float32Array.from(x);
    plus[index] = (plus[index] as number) + eps;
    minus[index] = (minus[index] as number) - eps;
    const fp = tf.tidy(() => f(tf.tensor(plus, shape)).dataSync()[0] as number);
    const fm = tf.tidy(() => f(tf.tensor(minus, shape)).dataSync()[0] as number);
    out[k] = (fp - fm) / (2 * eps);
  });
  return out;
}

/** Seeded random float32 data. */
export function randomData(rng: Rng, shape: number[], min = -1, max = 1): Float32Array {
  return rng.uniformArray(
    shape.reduce((a, b) => a * b, 1),
    min,
    max,
  );
}
