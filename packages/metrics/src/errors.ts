/**
 * @saccade/metrics has no dependency on @saccade/tensor (where SaccadeError lives), so its base
 * class speaks the same protocol by hand: the Symbol.for marks that SaccadeError.isInstance and
 * MetricsError.isInstance look for, and a stable `code`.
 */
const ROOT = Symbol.for('saccade.error');
const MARK = Symbol.for('saccade.error.metrics');

/** Every code @saccade/metrics' errors carry. */
export const METRICS_ERROR_CODES = ['BAD_METRIC_INPUT'] as const;
export type MetricsErrorCode = (typeof METRICS_ERROR_CODES)[number];

/** Base class of the errors @saccade/metrics throws on purpose; `code` is stable. */
export class MetricsError extends Error {
  override name = 'MetricsError';
  constructor(
    readonly code: MetricsErrorCode,
    message: string,
  ) {
    super(message);
    for (const mark of [ROOT, MARK]) Object.defineProperty(this, mark, { value: true, enumerable: false });
  }

  static isInstance(error: unknown): error is MetricsError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[MARK] === true;
  }
}

/** Scores, labels or options a metric cannot be computed from; says which argument and where. */
export class MetricInputError extends MetricsError {
  override name = 'MetricInputError';
  constructor(
    readonly metric: string,
    message: string,
  ) {
    super('BAD_METRIC_INPUT', `${metric}: ${message}`);
  }
}
