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
