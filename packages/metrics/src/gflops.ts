import { MetricInputError } from './errors.js';

/** GFLOPs (multiply-accumulates / 1e9, the papers' unit) of each component for one step. */
export type ComponentGflops = Readonly<Record<string, number>>;

export interface GflopsStep {
  /** 1-based step (frames processed so far). */
  step: number;
  /** Cumulative GFLOPs of a video that stops after this step. */
  gflops: number;
  /** Cumulative GFLOPs per component. */
  breakdown: Record<string, number>;
}

/**
 * Cumulative GFLOPs per video for each step at which it may stop: the AdaFocus models compute
 * step by step (glance, policy, focus on one patch, classifier), so stopping after step k costs
 * k steps. Components that run once per video (not per step) go in `perVideo`.
 */
export function gflopsTable(perStep: ComponentGflops, steps: number, perVideo: ComponentGflops = {}): GflopsStep[] {
  if (!Number.isInteger(steps) || steps < 1) throw new MetricInputError('gflopsTable', `steps must be a positive integer, got ${steps}`);
  for (const [name, v] of [...Object.entries(perStep), ...Object.entries(perVideo)]) {
    if (!Number.isFinite(v) || v < 0) throw new MetricInputError('gflopsTable', `component ${name} has GFLOPs ${v}`);
  }
  const table: GflopsStep[] = [];
  for (let k = 1; k <= steps; k++) {
    const breakdown: Record<string, number> = {};
    for (const [name, v] of Object.entries(perStep)) breakdown[name] = v * k;
    for (const [name, v] of Object.entries(perVideo)) breakdown[name] = (breakdown[name] ?? 0) + v;
    table.push({ step: k, gflops: Object.values(breakdown).reduce((a, b) => a + b, 0), breakdown });
  }
  return table;
}

/** Mean GFLOPs per video given the (1-based) step at which each video stopped. */
export function meanGflopsPerVideo(table: readonly GflopsStep[], exitSteps: readonly number[]): number {
  if (exitSteps.length === 0) throw new MetricInputError('meanGflopsPerVideo', 'no exit steps');
  let total = 0;
  exitSteps.forEach((k, i) => {
    const row = table[k - 1];
    if (!Number.isInteger(k) || !row) throw new MetricInputError('meanGflopsPerVideo', `exit step ${i} is ${k}, outside 1..${table.length}`);
    total += row.gflops;
  });
  return total / exitSteps.length;
}
