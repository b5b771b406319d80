/**
 * Frame folders in the official layouts (image_00001.jpg, img_00001.jpg, 00001.jpg, 000001.jpg;
 * JPEG or PNG), decoded with sharp.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

import sharp from 'sharp';

import type { Fit } from './decode.js';
import { FrameFolderError, VideoOptionError } from './errors.js';

const SHARP_FIT = { squash: 'fill', crop: 'cover', letterbox: 'contain' } as const;

const PATTERNS: [string, RegExp][] = [
  ['image_{5}', /^image_(\d{5})\.(jpe?g|png)$/i],
  ['img_{5}', /^img_(\d{5})\.(jpe?g|png)$/i],
  ['{5}', /^(\d{5})\.(jpe?g|png)$/i],
  ['{6}', /^(\d{6})\.(jpe?g|png)$/i],
];

export interface FrameFolder {
  dir: string;
  pattern: string;
  /** Files in frame order. */
  files: string[];
  /** Number of the first file (1 in the official layouts). */
  first: number;
}

/** List a frame folder; an error names missing frames in the numbering. */
export async function scanFrameFolder(dir: string): Promise<FrameFolder> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw new FrameFolderError(dir, `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let best: { pattern: string; numbered: [number, string][] } | undefined;
  for (const [pattern, re] of PATTERNS) {
    const numbered = names.flatMap((n) => {
      const m = re.exec(n);
      return m ? [[Number(m[1]), n] as [number, string]] : [];
    });
    if (numbered.length > (best?.numbered.length ?? 0)) best = { pattern, numbered };
  }
  if (!best) throw new FrameFolderError(dir, 'has no frames named image_00001.jpg, img_00001.jpg, 00001.jpg or 000001.jpg');
  best.numbered.sort((a, b) => a[0] - b[0]);
  const first = best.numbered[0]![0];
  const missing: number[] = [];
  best.numbered.forEach(([n], i) => {
    const expected = first + i + missing.length;
    for (let k = expected; k < n && missing.length < 5; k++) missing.push(k);
  });
  const last = best.numbered[best.numbered.length - 1]![0];
  if (last - first + 1 !== best.numbered.length) {
    throw new FrameFolderError(
      dir,
      `frames ${first}..${last} (${best.pattern}) have ${last - first + 1 - best.numbered.length} missing, first missing: ${missing.join(', ')}`,
    );
  }
  return { dir, pattern: best.pattern, files: best.numbered.map(([, n]) => n), first };
}

/** Decode frames of a folder (0-based indices into its frame order) to RGB bytes, resized by sharp. */
export async function readFrameFolder(
  dir: string,
  options: {
    indices?: readonly number[];
    width?: number;
    height?: number;
    /** With both sides: 'squash' (default), 'crop' (shorter side, centre crop) or 'letterbox' (black bars), as decodeFrames. */
    fit?: Fit;
  } = {},
): Promise<{ data: Uint8Array; frames: number; width: number; height: number; indices: number[]; folder: FrameFolder }> {
  const folder = await scanFrameFolder(dir);
  const indices = options.indices ? [...options.indices] : folder.files.map((_, i) => i);
  for (const i of indices) {
    if (!Number.isInteger(i) || i < 0 || i >= folder.files.length)
      throw new VideoOptionError('indices', `frame ${i} is outside 0..${folder.files.length - 1} of ${dir}`);
  }
  let width = options.width;
  let height = options.height;
  if (!width || !height) {
    const meta = await sharp(join(dir, folder.files[0]!)).metadata();
    width ??= meta.width;
    height ??= meta.height;
  }
  const frameBytes = width! * height! * 3;
  const data = new Uint8Array(indices.length * frameBytes);
  await Promise.all(
    indices.map(async (idx, k) => {
      const file = join(dir, folder.files[idx]!);
      let raw: Buffer;
      try {
        raw = await sharp(file)
          .removeAlpha()
          .resize(width!, height!, { fit: SHARP_FIT[options.fit ?? 'squash'], position: 'centre', background: { r: 0, g: 0, b: 0 } })
          .toColourspace('srgb')
          .raw()
          .toBuffer();
      } catch (error) {
        throw new FrameFolderError(dir, `${folder.files[idx]} cannot be decoded (${(error as Error).message})`);
      }
      data.set(raw.subarray(0, frameBytes), k * frameBytes);
    }),
  );
  return { data, frames: indices.length, width: width!, height: height!, indices, folder };
}
