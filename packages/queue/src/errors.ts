/**
 * @saccade/queue depends on no other Saccade package, so its base class speaks the Saccade error
 * protocol by hand (as @saccade/metrics does): the Symbol.for marks that SaccadeError.isInstance
 * and QueueError.isInstance look for, and a stable `code`.
 */
const ROOT = Symbol.for('saccade.error');
const MARK = Symbol.for('saccade.error.queue');

/** Every code @saccade/queue's errors carry. */
export const QUEUE_ERROR_CODES = ['BAD_JOB', 'OUTSIDE_ROOTS', 'BAD_QUEUE_OPTION', 'QUEUE_UNAVAILABLE', 'URL_NOT_ALLOWED', 'DOWNLOAD_FAILED'] as const;
export type QueueErrorCode = (typeof QUEUE_ERROR_CODES)[number];

/** Base class of the errors @saccade/queue throws on purpose; `code` is stable. */
export class QueueError extends Error {
  override name = 'QueueError';
  constructor(
    readonly code: QueueErrorCode,
    message: string,
  ) {
    super(message);
    for (const mark of [ROOT, MARK]) Object.defineProperty(this, mark, { value: true, enumerable: false });
  }

  static isInstance(error: unknown): error is QueueError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[MARK] === true;
  }
}

/** A job whose payload is not a video job (validated before anything reads it); says which field. */
export class JobPayloadError extends QueueError {
  override name = 'JobPayloadError';
  constructor(
    readonly jobId: string,
    message: string,
  ) {
    super('BAD_JOB', `job ${jobId}: ${message}`);
  }
}

/** A job's path that resolves (links followed) outside every root the worker was given. */
export class OutsideRootsError extends QueueError {
  override name = 'OutsideRootsError';
  constructor(
    readonly path: string,
    readonly roots: readonly string[],
  ) {
    super('OUTSIDE_ROOTS', `${path} is outside the worker's roots (${roots.join(', ')}): refused, nothing read`);
  }
}

/** A worker, submit or status option that cannot work (a bad Redis URL, concurrency 0, no roots); names the option. */
export class QueueOptionError extends QueueError {
  override name = 'QueueOptionError';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super('BAD_QUEUE_OPTION', `${option}: ${message}`);
  }
}

/** Redis cannot be reached or stopped answering; says where and why. */
export class QueueUnavailableError extends QueueError {
  override name = 'QueueUnavailableError';
  constructor(message: string) {
    super('QUEUE_UNAVAILABLE', message);
  }
}

/** A job's URL that this worker may not fetch (not under its `--allow-url` prefixes, or not a plain http(s) URL); nothing was fetched. */
export class UrlNotAllowedError extends QueueError {
  override name = 'UrlNotAllowedError';
  constructor(
    readonly url: string,
    why: string,
  ) {
    super('URL_NOT_ALLOWED', `${url}: refused, nothing fetched: ${why}`);
  }
}

/**
 * A video URL that could not be fetched. `permanent` when fetching again cannot help (HTTP 4xx but
 * 408 and 429, too large, too many redirects): the job fails once; otherwise it is retried.
 */
export class DownloadError extends QueueError {
  override name = 'DownloadError';
  constructor(
    readonly url: string,
    why: string,
    readonly permanent: boolean,
    readonly status?: number,
  ) {
    super('DOWNLOAD_FAILED', `${url} could not be fetched: ${why}`);
  }
}
