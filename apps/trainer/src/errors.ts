/**
 * Exit codes and one-line error messages. Usage errors (unknown command or flag, a bad flag value,
 * a config field out of range) exit 2; bad input (a dataset, video, bundle or checkpoint that
 * cannot be used) exits 3; anything else is an internal failure (1); an interrupted run that saved
 * its checkpoint exits 130. A stack trace is printed only with --verbose.
 */
import { ConfigError, SaccadeSdkError } from '@saccade/sdk';
import { VideoError } from '@saccade/video';

export const EXIT = { ok: 0, internal: 1, usage: 2, input: 3, interrupted: 130 } as const;

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
