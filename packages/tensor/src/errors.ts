/** Base class of every error @saccade/tensor throws on purpose; `code` is stable across versions. */
export class SaccadeTensorError extends Error {
  override name = 'SaccadeTensorError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
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
    super(
      'BACKEND_UNAVAILABLE',
      `backend "${requested}" cannot be loaded: ${describe(cause)}. ${remedy}`,
    );
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
