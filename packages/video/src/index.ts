export { decodeFrames } from './decode.js';
export type { DecodedFrames, DecodeOptions } from './decode.js';
export { encodeVideo } from './encode.js';
export type { EncodeOptions } from './encode.js';
export {
  DatasetFileError,
  EmptyVideoError,
  FfmpegNotFoundError,
  FrameFolderError,
  ListParseError,
  VideoDecodeError,
  VideoError,
  VideoFileError,
  VideoOptionError,
} from './errors.js';
export { liveProcesses, locateFfmpeg } from './ffmpeg.js';
export type { BinaryInfo, FfmpegInfo, LocateOptions } from './ffmpeg.js';
export { parseClassIndex, parseList, readClassIndex, readList, scanClassFolders } from './lists.js';
export type { ListEntry, ListFormat } from './lists.js';
export { probe } from './probe.js';
export type { VideoInfo } from './probe.js';
export { coarseToFineOrder, denseSample, tsnSample, uniformSample } from './sampling.js';
