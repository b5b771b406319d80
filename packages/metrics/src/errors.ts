/** Scores, labels or options a metric cannot be computed from; says which argument and where. */
export class MetricInputError extends Error {
  override name = 'MetricInputError';
  readonly code = 'BAD_METRIC_INPUT';
  constructor(
    readonly metric: string,
    message: string,
  ) {
    super(`${metric}: ${message}`);
  }
}
