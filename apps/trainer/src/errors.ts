/**
 * Exit codes and one-line error messages. Usage errors (unknown command or flag, a bad flag value,
 * a config field out of range) exit 2; bad input (a dataset, video, bundle or checkpoint that
 * cannot be used) exits 3; `classify` with several files of which some failed (their lines say
 * why; the others' results are printed) exits 4; anything else is an internal failure (1); an
 * interrupted run that saved its checkpoint exits 130. A stack trace is printed only with --verbose.
 */
import { ConfigError, SaccadeSdkError } from '@saccade/sdk';
import { VideoError } from '@saccade/video';

export const EXIT = { ok: 0, internal: 1, usage: 2, input: 3, partial: 4, interrupted: 130 } as const;

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

/** A usage error raised by the CLI itself (bad flag combination or value). */
export class UsageError extends Error {
  override name = 'UsageError';
}

export function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError || error instanceof ConfigError) return EXIT.usage;
  if (error instanceof SaccadeSdkError || error instanceof VideoError) return EXIT.input;
  // The other packages' typed errors and Node's file-system errors carry a string code.
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
