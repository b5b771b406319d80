import { hasErrorMark, markError, SaccadeError } from '@saccade/tensor';

/** Every code @saccade/backbones's errors carry. */
export const BACKBONE_ERROR_CODES = ['UNKNOWN_BACKBONE', 'BAD_OPTION', 'WEIGHT_MISMATCH', 'BAD_WEIGHT_FILE', 'UNSAFE_CHECKPOINT'] as const;
export type BackboneErrorCode = (typeof BACKBONE_ERROR_CODES)[number];
const MARK = Symbol.for('saccade.error.backbone');

/** Base class of the errors @saccade/backbones throws on purpose; `code` is stable. */
export class BackboneError extends SaccadeError {
  override name = 'BackboneError';
  declare readonly code: BackboneErrorCode;
  constructor(code: BackboneErrorCode, message: string) {
    super(code, message);
    markError(this, MARK);
  }

  static override isInstance(error: unknown): error is BackboneError {
    return hasErrorMark(error, MARK);
  }
}

/** A backbone name that is neither a torchvision name nor a Saccade preset. */
export class UnknownBackboneError extends BackboneError {
  override name = 'UnknownBackboneError';
  constructor(
    readonly requested: string,
    readonly known: readonly string[],
  ) {
    super('UNKNOWN_BACKBONE', `unknown backbone "${requested}"; known: ${known.join(', ')}`);
  }
}

/** An option the network cannot take (input size too small, width out of range, ...). */
export class BackboneOptionError extends BackboneError {
  override name = 'BackboneOptionError';
  constructor(
    readonly backbone: string,
    readonly option: string,
    message: string,
  ) {
    super('BAD_OPTION', `${backbone}: ${option} ${message}`);
  }
}

/** Weights that do not fit the network; lists every mismatch. Nothing was loaded. */
export class WeightMismatchError extends BackboneError {
  override name = 'WeightMismatchError';
  constructor(
    readonly source: string,
    readonly mismatches: readonly string[],
  ) {
    super(
      'WEIGHT_MISMATCH',
      `weights from ${source} do not fit the network (${mismatches.length} mismatch${mismatches.length === 1 ? '' : 'es'}; nothing was loaded):\n  ${mismatches.join('\n  ')}`,
    );
  }
}

/** A weights file that cannot be parsed (truncated, bad header, unsupported dtype). */
export class WeightFormatError extends BackboneError {
  override name = 'WeightFormatError';
  constructor(
    readonly source: string,
    message: string,
  ) {
    super('BAD_WEIGHT_FILE', `${source}: ${message}`);
  }
}

/**
 * A checkpoint whose pickle asks for something outside the allow-list (a global that is not a
 * tensor rebuilder, a storage type or OrderedDict, or an opcode that builds arbitrary objects).
 * Nothing from the file was executed: the reader never calls what a pickle names.
 */
export class UnsafeCheckpointError extends BackboneError {
  override name = 'UnsafeCheckpointError';
  constructor(
    readonly source: string,
    readonly what: string,
  ) {
    super('UNSAFE_CHECKPOINT', `${source}: refused ${what}; a checkpoint may hold tensors, numbers, strings, lists, tuples and dicts only`);
  }
}
