import { hasErrorMark, markError, SaccadeError } from '@saccade/tensor';

/** Every code @saccade/policy's errors carry. */
export const POLICY_ERROR_CODES = ['BAD_POLICY_OPTION'] as const;
export type PolicyErrorCode = (typeof POLICY_ERROR_CODES)[number];
const MARK = Symbol.for('saccade.error.policy');

/** Base class of the errors @saccade/policy throws on purpose; `code` is stable. */
export class PolicyError extends SaccadeError {
  override name = 'PolicyError';
  declare readonly code: PolicyErrorCode;
  constructor(code: PolicyErrorCode, message: string) {
    super(code, message);
    markError(this, MARK);
  }

  static override isInstance(error: unknown): error is PolicyError {
    return hasErrorMark(error, MARK);
  }
}

/** Options or inputs a policy cannot take; names which and why. */
export class PolicyOptionError extends PolicyError {
  override name = 'PolicyOptionError';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super('BAD_POLICY_OPTION', `${option}: ${message}`);
  }
}

/** Feature maps [B, h, w, c] (rank 4) or [B, T, h, w, c] (rank 5) of the policy's shape, else PolicyOptionError naming `what`. */
export function checkMaps(maps: { rank: number; shape: readonly number[] }, rank: number, featureShape: readonly number[], what: string): void {
  const tail = maps.shape.slice(rank - 3);
  if (maps.rank !== rank || tail.some((d, i) => d !== featureShape[i])) {
    throw new PolicyOptionError(what, `expects feature maps [${rank === 5 ? 'B, T, ' : 'B, '}${featureShape.join(', ')}], got [${maps.shape.join(',')}]`);
  }
}
