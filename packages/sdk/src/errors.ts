import { hasErrorMark, markError, SaccadeError } from '@saccade/tensor';

/** Every code @saccade/sdk's errors carry. */
export const SDK_ERROR_CODES = [
  'BAD_CONFIG',
  'BAD_INPUT',
  'BAD_BUNDLE',
  'BAD_CHECKPOINT',
  'BAD_DATASET',
  'RUN_LOCKED',
  'TRAINING_DIVERGED',
  'TRAINING_WORKER_FAILED',
] as const;
export type SdkErrorCode = (typeof SDK_ERROR_CODES)[number];
const MARK = Symbol.for('saccade.error.sdk');

/** Base class of every error @saccade/sdk throws on purpose; `code` is stable across versions. */
export class SaccadeSdkError extends SaccadeError {
  override name = 'SaccadeSdkError';
  declare readonly code: SdkErrorCode;
  constructor(code: SdkErrorCode, message: string) {
    super(code, message);
    markError(this, MARK);
  }

  static override isInstance(error: unknown): error is SaccadeSdkError {
    return hasErrorMark(error, MARK);
  }
}

/** A configuration field that is unknown, of the wrong type or out of range; `field` names it. */
export class ConfigError extends SaccadeSdkError {
  override name = 'ConfigError';
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super('BAD_CONFIG', `config.${field}: ${reason}`);
  }
}

/** Input a model cannot take (frames of the wrong size or channel count, an empty video). */
export class InputError extends SaccadeSdkError {
  override name = 'InputError';
  constructor(
    readonly what: string,
    message: string,
  ) {
    super('BAD_INPUT', `${what}: ${message}`);
  }
}

/** A model bundle that is missing, corrupt, from another version or inconsistent. */
export class BundleError extends SaccadeSdkError {
  override name = 'BundleError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super('BAD_BUNDLE', `${path}: ${message}`);
  }
}

/** A checkpoint that cannot be read or does not belong to the run being resumed. */
export class CheckpointError extends SaccadeSdkError {
  override name = 'CheckpointError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super('BAD_CHECKPOINT', `${path}: ${message}`);
  }
}

/** A dataset that cannot be used for training or evaluation. */
export class DatasetError extends SaccadeSdkError {
  override name = 'DatasetError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super('BAD_DATASET', `${path}: ${message}`);
  }
}

/** Another process holds the run folder (its `run.lock`): one writer per run. */
export class RunLockedError extends SaccadeSdkError {
  override name = 'RunLockedError';
  constructor(
    readonly path: string,
    readonly pid: number,
    readonly host: string,
    readonly since: string,
  ) {
    super('RUN_LOCKED', `${path}: in use by process ${pid} on ${host} (since ${since}); wait for it to finish or choose another run folder`);
  }
}

/** A training worker thread (`train({ workers })`) that died or failed: training stops; the last checkpoint is kept. */
export class TrainingWorkerError extends SaccadeSdkError {
  override name = 'TrainingWorkerError';
  constructor(
    readonly worker: number,
    message: string,
  ) {
    super('TRAINING_WORKER_FAILED', message);
  }
}

/** Training that cannot go on: the loss became NaN or infinite (lower the learning rate). */
export class TrainingDivergedError extends SaccadeSdkError {
  override name = 'TrainingDivergedError';
  constructor(
    readonly step: number,
    readonly loss: number,
    message: string,
  ) {
    super('TRAINING_DIVERGED', message);
  }
}
