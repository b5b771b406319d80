/** Options or inputs a policy cannot take; names which and why. */
export class PolicyOptionError extends Error {
  override name = 'PolicyOptionError';
  readonly code = 'BAD_POLICY_OPTION';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super(`${option}: ${message}`);
  }
}

/** Feature maps [B, h, w, c] (rank 4) or [B, T, h, w, c] (rank 5) of the policy's shape, else PolicyOptionError naming `what`. */
export function checkMaps(maps: { rank: number; shape: readonly number[] }, rank: number, featureShape: readonly number[], what: string): void {
  const tail = maps.shape.slice(rank - 3);
  if (maps.rank !== rank || tail.some((d, i) => d !== featureShape[i])) {
    throw new PolicyOptionError(what, `expects feature maps [${rank === 5 ? 'B, T, ' : 'B, '}${featureShape.join(', ')}], got [${maps.shape.join(',')}]`);
  }
}
