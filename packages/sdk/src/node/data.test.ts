import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { buildMovingFashionMnist } from '@saccade/video';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DatasetError } from '../errors.js';
import { loadVideoDataset } from './data.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saccade-data-'));
  await buildMovingFashionMnist({ out: join(dir, 'mfm'), trainVideos: 6, valVideos: 3, frames: 4, size: 64, itemSize: 24, seed: 2 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadVideoDataset', () => {
  it('decodes a dataset folder with ffmpeg once, then reads the same bytes from its cache', async () => {
    const root = join(dir, 'mfm');
    const first = await loadVideoDataset(root, { split: 'train', frames: 4, size: 64 });
    expect([first.length, first.classes.length, first.frames, first.size]).toEqual([6, 10, 4, 64]);
    expect(first.video(0)).toHaveLength(4 * 64 * 64 * 3);
    const cached = await readdir(join(root, '.saccade-cache'));
    expect(cached).toHaveLength(1);
    const second = await loadVideoDataset(root, { split: 'train', frames: 4, size: 64 });
    for (let i = 0; i < 6; i++) {
      expect(second.label(i)).toBe(first.label(i));
      expect(Buffer.from(second.video(i)).equals(Buffer.from(first.video(i)))).toBe(true);
    }
    // Another size is another cache entry (decoded again, resized by ffmpeg).
    const small = await loadVideoDataset(root, { split: 'val', frames: 4, size: 32, cache: false });
    expect(small.video(0)).toHaveLength(4 * 32 * 32 * 3);
    expect(await readdir(join(root, '.saccade-cache'))).toHaveLength(1);
  });

  it('names what is missing', async () => {
    await expect(loadVideoDataset(join(dir, 'none'), { split: 'train', frames: 4, size: 64 })).rejects.toThrow(DatasetError);
    await expect(loadVideoDataset(join(dir, 'mfm'), { split: 'test', frames: 4, size: 64 })).rejects.toThrow(/list file not found/);
    expect(existsSync(join(dir, 'mfm', 'classInd.txt'))).toBe(true);
  });
});
