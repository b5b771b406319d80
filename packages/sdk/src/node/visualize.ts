/**
 * A classification as a video: each step the model ran, on the source frame it saw at the source's
 * size, with the step's patch box (in the source's pixels), the step, the running label and the
 * exit marked. Drawn and encoded by @saccade/video (ffmpeg), written atomically.
 */
import { decodeFrames, probe, writeAnnotatedVideo, type Overlay } from '@saccade/video';

import { InputError } from '../errors.js';
import type { ClassifyResult } from '../model.js';

export interface VisualizeOptions {
  /** Steps per second (default 2: each step held half a second). */
  fps?: number;
  /** The model's GFLOPs for all its steps (no early exit), to print beside the spent ones. */
  allStepsGflops?: number;
}

/** Shorter side of the output at least (whole-factor upscaling). */
const MIN_SIDE = 360;

const pct = (p: number) => `${(100 * p).toFixed(1)}%`;

/** Write `out` (.mp4 or .gif) showing how `result` was reached on the video at `path`. */
export async function writeVisualization(path: string, result: ClassifyResult, out: string, o: VisualizeOptions = {}): Promise<void> {
  const indices = result.trace.map((t) => t.sourceIndex);
  if (indices.length === 0 || indices.some((i) => i === undefined))
    throw new InputError(path, 'this result does not say which source frames it saw (classify the video file itself to visualize it)');
  // Small videos are shown larger (a whole factor, so that boxes stay on the source's pixel grid),
  // so that the text fits and can be read.
  const info = await probe(path);
  const factor = Math.max(1, Math.ceil(MIN_SIDE / Math.min(info.width, info.height)));
  const gif = out.toLowerCase().endsWith('.gif');
  // H.264 needs even sides.
  const even = (v: number) => (gif ? v : v - (v % 2));
  const d = await decodeFrames(path, { indices: indices as number[], info, width: even(info.width * factor), height: even(info.height * factor) });
  const overlays: Overlay[] = result.trace.map((t, k) => {
    const src = result.patches[k]?.source;
    const box = src && { x: src.x * factor, y: src.y * factor, width: src.width * factor, height: src.height * factor };
    const last = k === result.trace.length - 1;
    const spent = `${result.gflops.toFixed(3)}${o.allStepsGflops !== undefined ? ` of ${o.allStepsGflops.toFixed(3)}` : ''} GFLOPs`;
    return {
      ...(box ? { boxes: [box] } : {}),
      text: [
        `step ${k + 1}/${result.steps}  frame ${t.sourceIndex! + 1}: ${t.label} ${pct(t.probability)}`,
        ...(last
          ? [
              result.exitStep < result.steps
                ? `EXIT at step ${result.exitStep}/${result.steps}: ${result.label}`
                : `all ${result.steps} steps: ${result.label}`,
              spent,
            ]
          : []),
      ],
    };
  });
  await writeAnnotatedVideo(out, d.data, { width: d.width, height: d.height, fps: o.fps ?? 2, overlays });
}
