/**
 * Exit codes and one-line error messages. Usage errors (unknown command or flag, a bad flag value,
 * a config field out of range) exit 2; bad input (a dataset, video, bundle or checkpoint that
 * cannot be used) exits 3; `classify` with several files of which some failed (their lines say
 * why; the others' results are printed) exits 4; anything else is an internal failure (1); an
 * interrupted run that saved its checkpoint exits 130. A stack trace is printed only with --verbose.
 */
import { BACKBONE_ERROR_CODES } from '@saccade/backbones';
import { EARLY_EXIT_ERROR_CODES } from '@saccade/early-exit';
import { METRICS_ERROR_CODES } from '@saccade/metrics';
import { POLICY_ERROR_CODES } from '@saccade/policy';
import { QUEUE_ERROR_CODES } from '@saccade/queue';
import { SDK_ERROR_CODES } from '@saccade/sdk';
import { hasErrorMark, markError, SaccadeError, TENSOR_ERROR_CODES } from '@saccade/tensor';
import { VIDEO_ERROR_CODES } from '@saccade/video';

export const EXIT = { ok: 0, internal: 1, usage: 2, input: 3, partial: 4, interrupted: 130 } as const;
export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

const USAGE_MARK = Symbol.for('saccade.error.cli');

/** A usage error raised by the CLI itself (bad flag combination or value). */
export class UsageError extends SaccadeError {
  override name = 'UsageError';
  declare readonly code: 'USAGE';
  constructor(message: string) {
    super('USAGE', message);
    markError(this, USAGE_MARK);
  }

  static override isInstance(error: unknown): error is UsageError {
    return hasErrorMark(error, USAGE_MARK);
  }
}

/** Every code a Saccade error can carry, from every package the CLI uses. */
export const ERROR_CODES = [
  'USAGE',
  ...TENSOR_ERROR_CODES,
  ...VIDEO_ERROR_CODES,
  ...BACKBONE_ERROR_CODES,
  ...METRICS_ERROR_CODES,
  ...POLICY_ERROR_CODES,
  ...EARLY_EXIT_ERROR_CODES,
  ...SDK_ERROR_CODES,
  ...QUEUE_ERROR_CODES,
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * The one table from error codes to exit statuses. 2: the command line asked for something
 * invalid (flags, config fields, a backend name); 3: an input (file, folder, dataset, bundle,
 * checkpoint, run folder, tool) cannot be used; 1: the program failed (a bad tensor argument or
 * metric input is a bug in Saccade or its caller, a diverged training is not the input's fault).
 * Typed so that a new code in any package fails the build until it has a row here.
 */
export const EXIT_BY_CODE: Record<ErrorCode, ExitStatus> = {
  USAGE: EXIT.usage,
  BAD_CONFIG: EXIT.usage,
  UNKNOWN_BACKEND: EXIT.usage,
  UNKNOWN_BACKBONE: EXIT.usage,
  BAD_OPTION: EXIT.usage,
  BAD_POLICY_OPTION: EXIT.usage,
  BACKEND_UNAVAILABLE: EXIT.input,
  BAD_MODEL_FILE: EXIT.input,
  FFMPEG_NOT_FOUND: EXIT.input,
  BAD_VIDEO_FILE: EXIT.input,
  DECODE_FAILED: EXIT.input,
  EMPTY_VIDEO: EXIT.input,
  BAD_LIST_LINE: EXIT.input,
  BAD_FRAME_FOLDER: EXIT.input,
  BAD_DATASET_FILE: EXIT.input,
  WEIGHT_MISMATCH: EXIT.input,
  BAD_WEIGHT_FILE: EXIT.input,
  UNSAFE_CHECKPOINT: EXIT.input,
  BAD_INPUT: EXIT.input,
  BAD_BUNDLE: EXIT.input,
  BAD_CHECKPOINT: EXIT.input,
  BAD_DATASET: EXIT.input,
  RUN_LOCKED: EXIT.input,
  BAD_EXIT_INPUT: EXIT.input,
  BAD_JOB: EXIT.input,
  OUTSIDE_ROOTS: EXIT.input,
  BAD_QUEUE_OPTION: EXIT.usage,
  QUEUE_UNAVAILABLE: EXIT.input,
  URL_NOT_ALLOWED: EXIT.input,
  DOWNLOAD_FAILED: EXIT.input,
  BAD_ARGUMENT: EXIT.internal,
  BAD_METRIC_INPUT: EXIT.internal,
  TRAINING_DIVERGED: EXIT.internal,
  TRAINING_WORKER_FAILED: EXIT.internal,
};

export function exitCodeOf(error: unknown): number {
  if (SaccadeError.isInstance(error) || hasErrorMark(error)) {
    const code = (error as { code: string }).code;
    // A code from a newer package than this table knows: still the input's fault, not a crash.
    return code in EXIT_BY_CODE ? EXIT_BY_CODE[code as ErrorCode] : EXIT.input;
  }
  // Node's file-system errors (ENOENT, EACCES, ...) carry a string code: an input that cannot be used.
  return typeof (error as { code?: unknown } | null)?.code === 'string' ? EXIT.input : EXIT.internal;
}

export function describeError(error: unknown, verbose: boolean): string {
  if (!(error instanceof Error)) return `error: ${String(error)}`;
  // One line: multi-line messages (ffmpeg's own words) are joined.
  const head = `error: ${error.message
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ')}`;
  return verbose && error.stack ? `${head}\n${error.stack}` : head;
}
/**
 * A string made safe for one line of terminal output: control characters (newlines, carriage
 * returns, escape sequences, C1 controls) and the Unicode line separators and direction overrides
 * are written as \n, \r, \t or \u{XXXX}, so that a file or class name cannot forge lines or
 * reorder what is shown. A backslash is doubled, so the escaped text is unambiguous.
 */
export function escapeText(s: string): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return s.replace(/[\\\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    if (c === '\\') return '\\\\';
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\u{${c.codePointAt(0)!.toString(16).padStart(4, '0')}}`;
  });
}
