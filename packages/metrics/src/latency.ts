import { MetricInputError } from './errors.js';

export interface LatencyOptions {
  /** Untimed calls first (JIT, allocation, operator caches). Default 3. */
  warmup?: number;
  /** Timed calls. Default 10. */
  runs?: number;
  /** Items (videos, frames) one call processes, for throughput. Default 1. */
  itemsPerRun?: number;
}

export interface LatencyStats {
  runs: number;
  warmup: number;
  medianMs: number;
  meanMs: number;
  stdMs: number;
  minMs: number;
  maxMs: number;
  p10Ms: number;
  p90Ms: number;
  /** Items per second at the median latency. */
  throughputPerSecond: number;
  samplesMs: number[];
}

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Summarise timings (median and spread). */
export function summariseTimings(samplesMs: readonly number[], itemsPerRun = 1, warmup = 0): LatencyStats {
  if (samplesMs.length === 0) throw new MetricInputError('summariseTimings', 'no timings');
  if (samplesMs.some((t) => !Number.isFinite(t) || t < 0)) throw new MetricInputError('summariseTimings', 'timings must be finite and non-negative');
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  const std = Math.sqrt(sorted.reduce((a, t) => a + (t - mean) ** 2, 0) / sorted.length);
  const median = quantile(sorted, 0.5);
  return {
    runs: sorted.length,
    warmup,
    medianMs: median,
    meanMs: mean,
    stdMs: std,
    minMs: sorted[0]!,
    maxMs: sorted[sorted.length - 1]!,
    p10Ms: quantile(sorted, 0.1),
    p90Ms: quantile(sorted, 0.9),
    throughputPerSecond: median > 0 ? (itemsPerRun * 1000) / median : Infinity,
    samplesMs: [...samplesMs],
  };
}

/** Time a function: warm-up calls, then timed runs (awaited one after another). */
export async function measureLatency(fn: () => unknown, options: LatencyOptions = {}): Promise<LatencyStats> {
  const warmup = options.warmup ?? 3;
  const runs = options.runs ?? 10;
  const items = options.itemsPerRun ?? 1;
  if (!Number.isInteger(runs) || runs < 1) throw new MetricInputError('measureLatency', `runs must be a positive integer, got ${runs}`);
  if (!Number.isInteger(warmup) || warmup < 0) throw new MetricInputError('measureLatency', `warmup must be a non-negative integer, got ${warmup}`);
  if (!(items > 0)) throw new MetricInputError('measureLatency', `itemsPerRun must be positive, got ${items}`);
  for (let i = 0; i < warmup; i++) await fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    samples.push(performance.now() - start);
  }
  return summariseTimings(samples, items, warmup);
}
