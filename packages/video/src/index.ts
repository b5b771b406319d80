export { decodeFrames, FITS, frameGeometry, toSourcePixels } from './decode.js';
export type { DecodedFrames, DecodeOptions, Fit, FrameGeometry } from './decode.js';
export { encodeVideo } from './encode.js';
export { OVERLAY_FONT, writeAnnotatedVideo } from './annotate.js';
export type { AnnotateOptions, Overlay, OverlayBox } from './annotate.js';
export type { EncodeOptions } from './encode.js';
export {
  DatasetFileError,
  EmptyVideoError,
  FfmpegNotFoundError,
  FrameFolderError,
  ListParseError,
  VideoDecodeError,
  VIDEO_ERROR_CODES,
  VideoError,
  VideoFileError,
  VideoOptionError,
} from './errors.js';
export type { VideoErrorCode } from './errors.js';
export { liveProcesses, locateFfmpeg } from './ffmpeg.js';
export type { BinaryInfo, FfmpegInfo, LocateOptions } from './ffmpeg.js';
export { parseClassIndex, parseList, readClassIndex, readList, scanClassFolders } from './lists.js';
export type { ListEntry, ListFormat } from './lists.js';
export { probe } from './probe.js';
export type { VideoInfo } from './probe.js';
export { coarseToFineOrder, denseSample, tsnSample, uniformSample } from './sampling.js';
export { DEBIAN_FASHION_MNIST, FASHION_MNIST_CLASSES, loadFashionMnist, locateFashionMnist, SHIPPED_FASHION_MNIST_SAMPLE } from './fashion_mnist.js';
export type { FashionMnist, FashionMnistSplit } from './fashion_mnist.js';
export { parseIdx, readIdx } from './idx.js';
export type { IdxArray } from './idx.js';
export { buildMovingFashionMnist, renderMovingFashionVideo } from './moving_fashion.js';
export type { MovingFashionDataset, MovingFashionOptions, VideoRecord } from './moving_fashion.js';
export { readFrameFolder, scanFrameFolder } from './frame_folder.js';
export type { FrameFolder } from './frame_folder.js';
export { batchToTensor, IMAGENET_MEAN, IMAGENET_STD, loadBatches } from './loader.js';
export type { Batch, LoaderOptions } from './loader.js';
