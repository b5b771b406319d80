// One error protocol across the packages (a stable code, Symbol.for marks, isInstance) and the one
// table from codes to exit statuses.
import { BackboneError, BackboneOptionError, UnknownBackboneError, WeightFormatError, WeightMismatchError } from '@saccade/backbones';
import { EarlyExitError, ExitCalibrationError } from '@saccade/early-exit';
import { MetricInputError, MetricsError } from '@saccade/metrics';
import { PolicyError, PolicyOptionError } from '@saccade/policy';
import { BundleError, CheckpointError, ConfigError, DatasetError, InputError, RunLockedError, SaccadeSdkError, TrainingDivergedError } from '@saccade/sdk';
import { BackendUnavailableError, SaccadeError, SaccadeTensorError, TensorArgumentError, UnknownBackendError } from '@saccade/tensor';
import {
  DatasetFileError,
  EmptyVideoError,
  FfmpegNotFoundError,
  FrameFolderError,
  ListParseError,
  VideoDecodeError,
  VideoError,
  VideoFileError,
  VideoOptionError,
} from '@saccade/video';
import { describe, expect, it } from 'vitest';

import { ERROR_CODES, EXIT, EXIT_BY_CODE, exitCodeOf, UsageError } from './errors.js';

type Base = { isInstance(e: unknown): boolean; name: string };
const cases: [Base, Error][] = [
  [SaccadeTensorError, new UnknownBackendError('x', 'argument', ['wasm'])],
  [SaccadeTensorError, new BackendUnavailableError('node', 'install it', new Error('no'))],
  [SaccadeTensorError, new TensorArgumentError('crop', 'bad')],
  [VideoError, new FfmpegNotFoundError('ffmpeg', ['nowhere'])],
  [VideoError, new VideoFileError('a.mp4', 'bad')],
  [VideoError, new VideoDecodeError('a.mp4', 'bad', '')],
  [VideoError, new EmptyVideoError('a.mp4', 'empty')],
  [VideoError, new ListParseError('list.txt', 3, 'bad')],
  [VideoError, new FrameFolderError('f', 'bad')],
  [VideoError, new VideoOptionError('frames', 'bad')],
  [VideoError, new DatasetFileError('x.gz', 'bad')],
  [BackboneError, new UnknownBackboneError('vgg', ['resnet18'])],
  [BackboneError, new BackboneOptionError('resnet18', 'width', 'bad')],
  [BackboneError, new WeightMismatchError('w.safetensors', ['a'])],
  [BackboneError, new WeightFormatError('w.safetensors', 'bad')],
  [MetricsError, new MetricInputError('topK', 'bad')],
  [PolicyError, new PolicyOptionError('grid', 'bad')],
  [EarlyExitError, new ExitCalibrationError('bad')],
  [SaccadeSdkError, new ConfigError('lr', 'bad')],
  [SaccadeSdkError, new InputError('frames', 'bad')],
  [SaccadeSdkError, new BundleError('b', 'bad')],
  [SaccadeSdkError, new CheckpointError('c', 'bad')],
  [SaccadeSdkError, new DatasetError('d', 'bad')],
  [SaccadeSdkError, new RunLockedError('r', 1, 'h', 'now')],
  [SaccadeSdkError, new TrainingDivergedError(3, NaN, 'diverged')],
  [UsageError, new UsageError('bad flag')],
];
const bases = [...new Set(cases.map(([b]) => b))];

describe('errors', () => {
  it('every typed error has a known code and is recognised by its own base and by SaccadeError only', () => {
    for (const [base, error] of cases) {
      const code = (error as unknown as { code: string }).code;
      expect(ERROR_CODES, `${error.name}`).toContain(code);
      expect(SaccadeError.isInstance(error), error.name).toBe(true);
      for (const other of bases) expect(other.isInstance(error), `${other.name}.isInstance(${error.name})`).toBe(other === base);
      expect(error.message.length).toBeGreaterThan(0);
    }
    expect(SaccadeError.isInstance(new Error('plain'))).toBe(false);
    expect(SaccadeError.isInstance(undefined)).toBe(false);
  });

  it('isInstance recognises an error from another copy of a package by its marks, not its class', () => {
    const foreign = Object.assign(new Error('from another copy of @saccade/sdk'), { code: 'BAD_BUNDLE' });
    for (const mark of ['saccade.error', 'saccade.error.sdk']) Object.defineProperty(foreign, Symbol.for(mark), { value: true });
    expect(SaccadeSdkError.isInstance(foreign)).toBe(true);
    expect(foreign instanceof SaccadeSdkError).toBe(false);
    expect(exitCodeOf(foreign)).toBe(EXIT.input);
  });

  it('maps every code to an exit status from one table', () => {
    expect(Object.keys(EXIT_BY_CODE).sort()).toEqual([...new Set(ERROR_CODES)].sort());
    expect(exitCodeOf(new UsageError('x'))).toBe(2);
    expect(exitCodeOf(new ConfigError('lr', 'bad'))).toBe(2);
    expect(exitCodeOf(new UnknownBackendError('x', 'SACCADE_BACKEND', []))).toBe(2);
    expect(exitCodeOf(new BundleError('b', 'bad'))).toBe(3);
    expect(exitCodeOf(new RunLockedError('r', 1, 'h', 'now'))).toBe(3);
    expect(exitCodeOf(new VideoDecodeError('a', 'b', ''))).toBe(3);
    expect(exitCodeOf(new TensorArgumentError('op', 'bad'))).toBe(1);
    expect(exitCodeOf(new TrainingDivergedError(1, NaN, 'x'))).toBe(1);
    expect(exitCodeOf(Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' }))).toBe(3);
    expect(exitCodeOf(new Error('bug'))).toBe(1);
    // A code this table does not know yet (a newer package): an input error, never a crash.
    const newer = Object.assign(new Error('new'), { code: 'SOMETHING_NEW' });
    Object.defineProperty(newer, Symbol.for('saccade.error'), { value: true });
    expect(exitCodeOf(newer)).toBe(3);
  });
});
