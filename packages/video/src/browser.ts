// @saccade/video in the browser: what needs no ffmpeg and no file system (frame geometry and frame
// sampling), so that a page decoding with an HTMLVideoElement picks and places frames exactly as
// the Node decoder does.
export { FITS, frameGeometry, toSourcePixels, type Fit, type FrameGeometry } from './geometry.js';
export { denseSample, tsnSample, uniformSample } from './sampling.js';
export { VideoOptionError } from './errors.js';
