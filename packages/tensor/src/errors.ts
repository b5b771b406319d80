const ROOT = Symbol.for('saccade.error');

/** Marks an error as Saccade's (and, with `marks`, as one package's); symbols from Symbol.for, so any copy of a package recognises them. */
export function markError(error: Error, ...marks: symbol[]): void {
  for (const mark of [ROOT, ...marks]) Object.defineProperty(error, mark, { value: true, enumerable: false });
}

/** Whether `error` carries the mark (default: any Saccade package's error). */
export function hasErrorMark(error: unknown, mark: symbol = ROOT): boolean {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[mark] === true;
}

/**
 * Root of every error a Saccade package throws on purpose. `code` is stable across versions (the
 * CLI maps codes to exit statuses); `isInstance` recognises errors from any copy of any Saccade
 * package, where `instanceof` would fail across two installed copies.
 */
export class SaccadeError extends Error {
  override name = 'SaccadeError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    markError(this);
  }

  static isInstance(error: unknown): error is SaccadeError {
    return hasErrorMark(error);
  }
}

/** Every code @saccade/tensor's errors carry. */
export const TENSOR_ERROR_CODES = ['UNKNOWN_BACKEND', 'BACKEND_UNAVAILABLE', 'BAD_ARGUMENT', 'BAD_MODEL_FILE'] as const;
export type TensorErrorCode = (typeof TENSOR_ERROR_CODES)[number];
const TENSOR = Symbol.for('saccade.error.tensor');

/** Base class of every error @saccade/tensor throws on purpose. */
export class SaccadeTensorError extends SaccadeError {
  override name = 'SaccadeTensorError';
  declare readonly code: TensorErrorCode;
  constructor(code: TensorErrorCode, message: string) {
    super(code, message);
    markError(this, TENSOR);
  }

  static override isInstance(error: unknown): error is SaccadeTensorError {
    return hasErrorMark(error, TENSOR);
  }
}

/** A backend name that Saccade does not know (from the argument or SACCADE_BACKEND). */
export class UnknownBackendError extends SaccadeTensorError {
  override name = 'UnknownBackendError';
  constructor(
    readonly requested: string,
    readonly source: 'argument' | 'SACCADE_BACKEND',
    readonly known: readonly string[],
  ) {
    super(
      'UNKNOWN_BACKEND',
      `unknown backend "${requested}" (from ${source === 'argument' ? 'initBackend()' : 'the SACCADE_BACKEND environment variable'}); known: ${known.join(', ')}`,
    );
  }
}

/** A backend that was asked for explicitly but cannot be loaded here. Never a silent fallback. */
export class BackendUnavailableError extends SaccadeTensorError {
  override name = 'BackendUnavailableError';
  constructor(
    readonly requested: string,
    /** What to install (an npm package) or do to make the backend loadable. */
    readonly remedy: string,
    override readonly cause: unknown,
  ) {
    super('BACKEND_UNAVAILABLE', `backend "${requested}" cannot be loaded: ${describe(cause)}. ${remedy}`);
  }
}

/** Arguments of a tensor operation that are the wrong shape, type or range. */
export class TensorArgumentError extends SaccadeTensorError {
  override name = 'TensorArgumentError';
  constructor(
    readonly op: string,
    message: string,
  ) {
    super('BAD_ARGUMENT', `${op}: ${message}`);
  }
}

function describe(cause: unknown): string {
  if (cause instanceof Error) return cause.message.split('\n')[0] ?? cause.name;
  return String(cause);
}
