import { hasErrorMark, markError, SaccadeError } from '@saccade/tensor';

/** Every code @saccade/early-exit's errors carry. */
export const EARLY_EXIT_ERROR_CODES = ['BAD_EXIT_INPUT'] as const;
export type EarlyExitErrorCode = (typeof EARLY_EXIT_ERROR_CODES)[number];
const MARK = Symbol.for('saccade.error.early-exit');

/** Base class of the errors @saccade/early-exit throws on purpose; `code` is stable. */
export class EarlyExitError extends SaccadeError {
  override name = 'EarlyExitError';
  declare readonly code: EarlyExitErrorCode;
  constructor(code: EarlyExitErrorCode, message: string) {
    super(code, message);
    markError(this, MARK);
  }

  static override isInstance(error: unknown): error is EarlyExitError {
    return hasErrorMark(error, MARK);
  }
}

/** Logits, labels, GFLOPs tables or targets the calibration cannot use; names what and where. */
export class ExitCalibrationError extends EarlyExitError {
  override name = 'ExitCalibrationError';
  constructor(message: string) {
    super('BAD_EXIT_INPUT', message);
  }
}
