/**
 * Annotated videos: RGB frames with lines of text (ffmpeg's drawtext with the DejaVu Sans font that
 * the dejavu-fonts-ttf package ships, so nothing depends on the machine's fonts) and boxes drawn over
 * the text (ffmpeg's drawbox), encoded as mp4 or GIF and written atomically. A line's text
 * reaches ffmpeg as a file (`textfile`), never inside the filter graph, so a label can hold any
 * character.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { encodeVideo, type EncodeOptions } from './encode.js';
import { VideoOptionError } from './errors.js';

export interface OverlayBox {
  /** Top-left corner and size in the frame's pixels (clipped to the frame). */
  x: number;
  y: number;
  width: number;
  height: number;
  /** RGB; default green (0, 230, 64). */
  color?: readonly [number, number, number];
}

export interface Overlay {
  boxes?: readonly OverlayBox[];
  /** Lines of text, top left, white on a dark band. */
  text?: readonly string[];
}

export interface AnnotateOptions extends Omit<EncodeOptions, 'filter'> {
  /** One per frame (missing: the frame as it is). */
  overlays: readonly Overlay[];
  /** Box line width in pixels. Default: 1/100 of the shorter side, at least 2. */
  lineWidth?: number;
}

const require = createRequire(import.meta.url);
/** The bundled font's path. */
export const OVERLAY_FONT: string = require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf');

/** A filter-graph value in single quotes (the path is this package's or a temporary one). */
function quoted(value: string): string {
  if (value.includes("'")) throw new VideoOptionError('path', `${value} holds a quote, which an ffmpeg filter option cannot`);
  return `'${value}'`;
}

/** Write `frames` (T x height x width x 3 RGB) with each frame's boxes and text, atomically. */
export async function writeAnnotatedVideo(file: string, frames: Uint8Array, o: AnnotateOptions): Promise<void> {
  const { width, height } = o;
  const per = width * height * 3;
  if (frames.byteLength === 0 || frames.byteLength % per)
    throw new VideoOptionError('frames', `${frames.byteLength} bytes is not a whole number of ${width}x${height} RGB frames`);
  const count = frames.byteLength / per;
  if (o.overlays.length > count) throw new VideoOptionError('overlays', `${o.overlays.length} overlays for ${count} frames`);
  const lineWidth = o.lineWidth ?? Math.max(2, Math.round(Math.min(width, height) / 100));
  const dir = await mkdtemp(join(tmpdir(), 'saccade-annotate-'));
  try {
    const size = Math.max(10, Math.round(Math.min(width, height) / 24));
    const filters: string[] = [];
    for (const [k, ov] of o.overlays.entries()) {
      for (const [j, line] of (ov.text ?? []).entries()) {
        const textFile = join(dir, `${k}-${j}.txt`);
        await writeFile(textFile, line);
        filters.push(
          `drawtext=fontfile=${quoted(OVERLAY_FONT)}:textfile=${quoted(textFile)}:expansion=none:fontsize=${size}:fontcolor=white:box=1:boxcolor=black@0.6:boxborderw=${Math.round(size / 4)}:x=${Math.round(size / 2)}:y=${Math.round(size / 2 + j * size * 1.6)}:enable='eq(n,${k})'`,
        );
      }
    }
    // Boxes last, so that a line of text never hides one; clipped to the frame.
    for (const [k, ov] of o.overlays.entries())
      for (const b of ov.boxes ?? []) {
        const x0 = Math.max(0, Math.round(b.x));
        const y0 = Math.max(0, Math.round(b.y));
        const x1 = Math.min(width, Math.round(b.x + b.width));
        const y1 = Math.min(height, Math.round(b.y + b.height));
        if (x1 <= x0 || y1 <= y0) continue;
        const [r, g, bl] = (b.color ?? [0, 230, 64]).map((v) => Math.max(0, Math.min(255, Math.round(v))));
        const hex = ((r! << 16) | (g! << 8) | bl!).toString(16).padStart(6, '0');
        filters.push(`drawbox=x=${x0}:y=${y0}:w=${x1 - x0}:h=${y1 - y0}:color=0x${hex}:t=${lineWidth}:enable='eq(n,${k})'`);
      }
    await encodeVideo(file, frames, { ...o, ...(filters.length ? { filter: filters.join(',') } : {}) });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
