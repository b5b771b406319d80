/**
 * How a source frame of any aspect becomes the model's square (squash, crop, letterbox), and back:
 * pure arithmetic, shared by the ffmpeg decoder, frame folders and the browser.
 */
import { VideoOptionError } from './errors.js';

export type Fit = 'squash' | 'crop' | 'letterbox';
export const FITS: readonly Fit[] = ['squash', 'crop', 'letterbox'];

/**
 * A frame's resize: an output coordinate is `source * scale + offset` on each axis (continuous
 * coordinates, 0 at a frame's left or top edge). 'crop' has negative offsets (the scaled frame
 * starts left of and above the output), 'letterbox' positive ones (the bars).
 */
export interface FrameGeometry {
  fit: Fit;
  source: { width: number; height: number };
  output: { width: number; height: number };
  /** The scaled frame's size before cropping or padding. */
  scaled: { width: number; height: number };
  scaleX: number;
  scaleY: number;
  offsetX: number;
  offsetY: number;
}

/** The geometry of resizing a `sw` x `sh` frame to `w` x `h` by `fit` (whole pixels, as ffmpeg gets them). */
export function frameGeometry(sw: number, sh: number, w: number, h: number, fit: Fit = 'squash'): FrameGeometry {
  if (!FITS.includes(fit)) throw new VideoOptionError('fit', `must be one of ${FITS.join(', ')}, got ${String(fit)}`);
  let scaled = { width: w, height: h };
  if (fit !== 'squash' && sw * h !== sh * w) {
    const s = fit === 'crop' ? Math.max(w / sw, h / sh) : Math.min(w / sw, h / sh);
    const clamp = (v: number, side: number) => (fit === 'crop' ? Math.max(side, v) : Math.max(1, Math.min(side, v)));
    scaled = { width: clamp(Math.round(sw * s), w), height: clamp(Math.round(sh * s), h) };
  }
  // (`|| 0`: no -0 in the geometry.)
  const offsetX = (fit === 'crop' ? -Math.floor((scaled.width - w) / 2) : Math.floor((w - scaled.width) / 2)) || 0;
  const offsetY = (fit === 'crop' ? -Math.floor((scaled.height - h) / 2) : Math.floor((h - scaled.height) / 2)) || 0;
  return {
    fit,
    source: { width: sw, height: sh },
    output: { width: w, height: h },
    scaled,
    scaleX: scaled.width / sw,
    scaleY: scaled.height / sh,
    offsetX,
    offsetY,
  };
}

/** An output coordinate (continuous, x then y) in the source frame's pixels. */
export function toSourcePixels(g: FrameGeometry, x: number, y: number): [number, number] {
  return [(x - g.offsetX) / g.scaleX, (y - g.offsetY) / g.scaleY];
}
