import { hasErrorMark, markError, SaccadeError } from '@saccade/tensor';

/** Every code @saccade/video's errors carry. */
export const VIDEO_ERROR_CODES = [
  'FFMPEG_NOT_FOUND',
  'BAD_VIDEO_FILE',
  'DECODE_FAILED',
  'EMPTY_VIDEO',
  'BAD_LIST_LINE',
  'BAD_FRAME_FOLDER',
  'BAD_OPTION',
  'BAD_DATASET_FILE',
] as const;
export type VideoErrorCode = (typeof VIDEO_ERROR_CODES)[number];
const MARK = Symbol.for('saccade.error.video');

/** Base class of the errors @saccade/video throws on purpose; `code` is stable. */
export class VideoError extends SaccadeError {
  override name = 'VideoError';
  declare readonly code: VideoErrorCode;
  constructor(code: VideoErrorCode, message: string) {
    super(code, message);
    markError(this, MARK);
  }

  static override isInstance(error: unknown): error is VideoError {
    return hasErrorMark(error, MARK);
  }
}

/** No usable ffmpeg/ffprobe binary; says where it looked. */
export class FfmpegNotFoundError extends VideoError {
  override name = 'FfmpegNotFoundError';
  constructor(
    readonly binary: 'ffmpeg' | 'ffprobe',
    readonly tried: readonly string[],
  ) {
    super(
      'FFMPEG_NOT_FOUND',
      `no working ${binary} found; tried: ${tried.join('; ')}. Set ${binary.toUpperCase()}_PATH or install @${binary}-installer/${binary}.`,
    );
  }
}

/** A file that is missing or is not a video. */
export class VideoFileError extends VideoError {
  override name = 'VideoFileError';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super('BAD_VIDEO_FILE', `${file}: ${message}`);
  }
}

/** ffmpeg failed on a file (truncated, corrupt, unsupported); carries the tail of its stderr. */
export class VideoDecodeError extends VideoError {
  override name = 'VideoDecodeError';
  constructor(
    readonly file: string,
    message: string,
    readonly stderrTail: string,
  ) {
    super('DECODE_FAILED', `${file}: ${message}${stderrTail ? `\nffmpeg said: ${stderrTail}` : ''}`);
  }
}

/** A video with no frames (or fewer than the caller needs). */
export class EmptyVideoError extends VideoError {
  override name = 'EmptyVideoError';
  constructor(
    readonly file: string,
    message = 'has no video frames',
  ) {
    super('EMPTY_VIDEO', `${file}: ${message}`);
  }
}

/** A dataset list line that does not parse, or names a label outside the class index. */
export class ListParseError extends VideoError {
  override name = 'ListParseError';
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super('BAD_LIST_LINE', `${file}:${line}: ${message}`);
  }
}

/** A frame folder with frames missing from its numbering. */
export class FrameFolderError extends VideoError {
  override name = 'FrameFolderError';
  constructor(
    readonly folder: string,
    message: string,
  ) {
    super('BAD_FRAME_FOLDER', `${folder}: ${message}`);
  }
}

/** Options that make no sense (sizes, counts, indices). */
export class VideoOptionError extends VideoError {
  override name = 'VideoOptionError';
  constructor(
    readonly option: string,
    message: string,
  ) {
    super('BAD_OPTION', `${option}: ${message}`);
  }
}

/** A dataset file (IDX) that is missing, truncated or of another kind. */
export class DatasetFileError extends VideoError {
  override name = 'DatasetFileError';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super('BAD_DATASET_FILE', `${file}: ${message}`);
  }
}
