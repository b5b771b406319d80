import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { encodeVideo } from './encode.js';
import { FrameFolderError, VideoDecodeError } from './errors.js';
import { liveProcesses } from './ffmpeg.js';
import { readFrameFolder, scanFrameFolder } from './frame_folder.js';
import type { ListEntry } from './lists.js';
import { batchToTensor, loadBatches } from './loader.js';

let root: string;
const S = 32;

function clip(frames: number, level: (i: number) => number): Uint8Array {
  const data = new Uint8Array(frames * S * S * 3);
  for (let i = 0; i < frames; i++) data.fill(level(i), i * S * S * 3, (i + 1) * S * S * 3);
  return data;
}

const entry = (path: string, label: number, frames = 20): ListEntry => ({ path, frames, labels: [label], line: 0 });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'saccade-loader-'));
  for (let v = 0; v < 5; v++)
    await encodeVideo(
      join(root, `v${v}.mp4`),
      clip(20, (i) => 10 * v + 6 * i),
      { width: S, height: S, crf: 0 },
    );
  await writeFile(join(root, 'broken.mp4'), 'not a video at all');
  // A frame folder in the official layout, and one with a frame missing.
  await mkdir(join(root, 'frames'));
  await mkdir(join(root, 'gappy'));
  for (let i = 1; i <= 6; i++) {
    const png = await sharp(Buffer.alloc(S * S * 3, 40 * i), { raw: { width: S, height: S, channels: 3 } })
      .png()
      .toBuffer();
    await writeFile(join(root, 'frames', `img_${String(i).padStart(5, '0')}.png`), png);
    if (i !== 4) await writeFile(join(root, 'gappy', `image_${String(i).padStart(5, '0')}.png`), png);
  }
});

afterAll(() => rm(root, { recursive: true, force: true }));

describe('frame folders', () => {
  it('reads the official naming with sharp, and names missing frames', async () => {
    const folder = await scanFrameFolder(join(root, 'frames'));
    expect(folder).toMatchObject({ pattern: 'img_{5}', first: 1 });
    const out = await readFrameFolder(join(root, 'frames'), { indices: [5, 0], width: 8, height: 8 });
    expect([out.data[0], out.data[8 * 8 * 3]]).toEqual([240, 40]);
    await expect(scanFrameFolder(join(root, 'gappy'))).rejects.toThrow(FrameFolderError);
    await expect(scanFrameFolder(join(root, 'gappy'))).rejects.toThrow(/first missing: 4/);
  });
});

describe('loadBatches', () => {
  it('yields every video once in evaluation, with TSN centre frames, and keeps the last batch', async () => {
    const entries = [0, 1, 2, 3, 4].map((v) => entry(`v${v}`, v));
    const seen: number[] = [];
    for await (const batch of loadBatches({ root, entries, frames: 4, size: 16, batchSize: 2, mode: 'eval' })) {
      expect(batch.shape.slice(1)).toEqual([4, 16, 16, 3]);
      batch.labels.forEach((l, k) => {
        seen.push(l[0]!);
        expect(batch.sampled[k]).toEqual([2, 7, 12, 17]);
        const first = batch.data[k * 4 * 16 * 16 * 3]!;
        // Frame i of video v is grey 10v + 6i: within 2 grey levels (the RGB -> YUV round trip), frame
        // 2 and no neighbour (6 levels away).
        expect(Math.abs(first - (10 * l[0]! + 6 * 2))).toBeLessThanOrEqual(2);
      });
    }
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });

  it('shuffles and augments deterministically in training, reads frame folders, and skips bad videos when asked', async () => {
    const entries = [entry('v0', 0), entry('v1', 1), entry('broken', 2), entry('frames', 3, 6), entry('v3', 3)];
    const run = async () => {
      const out: { labels: number[][]; bytes: number; skipped: string[] }[] = [];
      for await (const b of loadBatches({ root, entries, frames: 3, size: 12, batchSize: 2, mode: 'train', seed: 4, onError: 'skip', keepLast: true })) {
        out.push({ labels: b.labels, bytes: b.data.reduce((a, v) => a + v, 0), skipped: b.skipped.map((s) => s.entry.path) });
      }
      return out;
    };
    const a = await run();
    expect(a).toEqual(await run());
    expect(a.flatMap((b) => b.skipped)).toEqual(['broken']);
    expect(a.flatMap((b) => b.labels.map((l) => l[0])).sort()).toEqual([0, 1, 3, 3]);
  });

  it('fails the batch on a bad video by default, and leaves no ffmpeg behind when the loop stops early', async () => {
    const entries = [entry('v0', 0), entry('broken', 1)];
    const loop = async () => {
      for await (const b of loadBatches({ root, entries, frames: 2, size: 8, batchSize: 2, mode: 'eval' })) void b;
    };
    await expect(loop()).rejects.toBeInstanceOf(VideoDecodeError);
    const many = Array.from({ length: 20 }, (_, i) => entry(`v${i % 5}`, i % 5));
    for await (const b of loadBatches({ root, entries: many, frames: 4, size: 16, batchSize: 2, mode: 'eval', prefetch: 3 })) {
      void b;
      break;
    }
    expect(liveProcesses()).toBe(0);
  });

  it('turns a batch into a normalised tensor', () => {
    const t = batchToTensor({ data: new Uint8Array([0, 255, 128, 64, 32, 16]), shape: [1, 1, 1, 2, 3] }, 'imagenet');
    const v = t.dataSync();
    expect(v[0]).toBeCloseTo(-0.485 / 0.229, 5);
    expect(v[1]).toBeCloseTo((1 - 0.456) / 0.224, 5);
    tf.dispose(t);
  });
});
