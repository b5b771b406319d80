import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { VideoDecodeError, buildMovingFashionMnist, encodeVideo, liveProcesses, locateFfmpeg } from '@saccade/video';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DatasetError } from '../errors.js';
import { clearFrameCache, loadVideoDataset } from './data.js';

let dir: string;
let cacheDir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saccade-data-'));
  cacheDir = join(dir, 'cache');
  await buildMovingFashionMnist({ out: join(dir, 'mfm'), trainVideos: 6, valVideos: 3, frames: 4, size: 64, itemSize: 24, seed: 2 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh copy of the dataset (the tests below change videos). */
async function copy(name: string): Promise<string> {
  const root = join(dir, name);
  await cp(join(dir, 'mfm'), root, { recursive: true });
  return root;
}

const sameBytes = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

describe('loadVideoDataset', () => {
  it('decodes a dataset folder with ffmpeg once, then reads the frames from its cache (outside the dataset folder)', async () => {
    const root = await copy('a');
    const before = (await readdir(root)).sort();
    const events: boolean[] = [];
    const opts = { split: 'train', frames: 4, size: 64, cacheDir, onCache: (e: { hit: boolean }) => events.push(e.hit) };
    const first = await loadVideoDataset(root, opts);
    expect([first.length, first.classes.length, first.frames, first.size]).toEqual([6, 10, 4, 64]);
    expect(first.video(0)).toHaveLength(4 * 64 * 64 * 3);
    const cached = (await readdir(cacheDir)).filter((n) => n.endsWith('.u8'));
    expect(cached).toHaveLength(1);
    // Nothing is written into the dataset folder (it may be read-only).
    expect((await readdir(root)).sort()).toEqual(before);
    // The second load reads the cache: a byte changed in the cache file shows up in the frames.
    const file = join(cacheDir, cached[0]!);
    const bytes = await readFile(file);
    bytes[5] = (bytes[5]! + 77) % 256;
    await writeFile(file, bytes);
    const second = await loadVideoDataset(root, opts);
    expect(events).toEqual([false, true]);
    expect(second.video(0)[5]).toBe(bytes[5]);
    for (let i = 1; i < 6; i++) {
      expect(second.label(i)).toBe(first.label(i));
      expect(sameBytes(second.video(i), first.video(i))).toBe(true);
    }
    // Another size is another cache entry; cache: false writes none.
    const small = await loadVideoDataset(root, { split: 'val', frames: 4, size: 32, cacheDir, cache: false });
    expect(small.video(0)).toHaveLength(4 * 32 * 32 * 3);
    expect((await readdir(cacheDir)).filter((n) => n.endsWith('.u8'))).toHaveLength(1);
  });

  it('frames of another aspect: centre-cropped by default (the official validation transform), squashed or letterboxed on request, each cached apart', async () => {
    const root = await copy('aspect');
    const first = (await readFile(join(root, 'train_list.txt'), 'utf8')).split('\n')[0]!.split(' ')[0]!;
    // 128 x 64: a red band (32 columns), grey in the middle (64), a blue band (32).
    const [w, h] = [128, 64];
    const frames = new Uint8Array(4 * w * h * 3);
    for (let p = 0; p < 4 * w * h; p++) {
      const x = p % w;
      frames.set(x < 32 ? [255, 0, 0] : x >= 96 ? [0, 0, 255] : [128, 128, 128], p * 3);
    }
    await encodeVideo(join(root, first), frames, { width: w, height: h, crf: 0 });
    const at = (d: { video(i: number): Uint8Array }, x: number, y: number) => Array.from(d.video(0).subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3));
    const near = (got: number[], want: number[]) => got.every((v, i) => Math.abs(v - want[i]!) <= 12);
    const load = (fit?: 'crop' | 'squash' | 'letterbox') =>
      loadVideoDataset(root, { split: 'train', frames: 4, size: 64, cacheDir: join(dir, 'cache-aspect'), ...(fit ? { fit } : {}) });
    const crop = await load();
    for (const [x, y] of [
      [0, 0],
      [63, 32],
      [32, 63],
    ] as const)
      expect(near(at(crop, x, y), [128, 128, 128]), `crop (${x},${y}) ${at(crop, x, y)}`).toBe(true);
    const squash = await load('squash');
    expect(near(at(squash, 2, 32), [255, 0, 0]), `${at(squash, 2, 32)}`).toBe(true);
    expect(near(at(squash, 61, 32), [0, 0, 255])).toBe(true);
    const box = await load('letterbox');
    expect(near(at(box, 32, 2), [0, 0, 0])).toBe(true);
    expect(near(at(box, 32, 32), [128, 128, 128])).toBe(true);
    // And the default again comes from its own cache entry, unchanged.
    expect(sameBytes((await load('crop')).video(0), crop.video(0))).toBe(true);
  });

  it('reads folders of extracted frames (image_00001.png ...) named in the list, cropped like videos, and notices a rewritten frame', async () => {
    const root = await copy('frames');
    const list = join(root, 'train_list.txt');
    const lines = (await readFile(list, 'utf8')).trim().split('\n');
    const [first, , label] = lines[0]!.split(' ');
    // The first video's frames, extracted by ffmpeg into a folder, replace it in the list.
    const { ffmpeg } = await locateFfmpeg();
    await mkdir(join(root, 'frames', 'clip_a'), { recursive: true });
    const x = spawnSync(ffmpeg.path, ['-v', 'error', '-i', join(root, first!), join(root, 'frames', 'clip_a', 'image_%05d.png')]);
    expect(x.status, x.stderr.toString()).toBe(0);
    const count = (await readdir(join(root, 'frames', 'clip_a'))).length;
    await writeFile(list, [`frames/clip_a ${count} ${label}`, ...lines.slice(1)].join('\n'));
    const opts = { split: 'train', frames: 4, size: 64, cacheDir: join(dir, 'cache-frames') };
    const fromFrames = await loadVideoDataset(root, opts);
    const fromVideo = await loadVideoDataset(await copy('frames-ref'), { ...opts, cacheDir: join(dir, 'cache-frames-ref') });
    expect(fromFrames.label(0)).toBe(fromVideo.label(0));
    // PNGs of the decoded frames, resized by sharp instead of ffmpeg: the same picture within rounding.
    const a = fromFrames.video(0);
    const b = fromVideo.video(0);
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff += Math.abs(a[i]! - b[i]!);
    expect(diff / a.length).toBeLessThan(3);
    // A frame rewritten in place is not served from the cache.
    const frame = join(root, 'frames', 'clip_a', 'image_00001.png');
    const y = spawnSync(ffmpeg.path, ['-v', 'error', '-f', 'lavfi', '-i', 'color=white:s=64x64', '-frames:v', '1', '-y', frame]);
    expect(y.status, y.stderr.toString()).toBe(0);
    const again = await loadVideoDataset(root, opts);
    expect(sameBytes(again.video(0), fromFrames.video(0))).toBe(false);
  });

  it('never serves a changed, replaced or deleted video from the cache', async () => {
    const root = await copy('b');
    const opts = { split: 'train', frames: 4, size: 64, cacheDir };
    const first = await loadVideoDataset(root, opts);
    // Another real video in place of the first one (same mtime as before, other size): decoded anew.
    const video0 = join(root, 'videos', 'train_00000.mp4');
    const video1 = join(root, 'videos', 'train_00001.mp4');
    await cp(video1, video0);
    const swapped = await loadVideoDataset(root, opts);
    expect(sameBytes(swapped.video(0), first.video(1))).toBe(true);
    // The same bytes back, but a new mtime: still not the stale entry.
    await cp(join(dir, 'mfm', 'videos', 'train_00000.mp4'), video0);
    await utimes(video0, new Date(), new Date(Date.now() + 5000));
    expect(sameBytes((await loadVideoDataset(root, opts)).video(0), first.video(0))).toBe(true);
    // Garbage in place of every video: a decode error naming a video, not the cached frames.
    for (const name of await readdir(join(root, 'videos'))) await writeFile(join(root, 'videos', name), 'not a video any more');
    await expect(loadVideoDataset(root, opts)).rejects.toThrow(VideoDecodeError);
    // No videos at all: an error naming the list line.
    await rm(join(root, 'videos'), { recursive: true });
    await expect(loadVideoDataset(root, opts)).rejects.toThrow(/train_list\.txt:1: video "videos\/train_00000.mp4" not found/);
    // Stale entries of the same list are removed when a new one is written.
    expect((await readdir(cacheDir)).filter((n) => n.endsWith('.u8')).length).toBeLessThanOrEqual(2);
  });

  it('reaps every ffmpeg child before a decode error rejects', async () => {
    const root = await copy('c');
    await writeFile(join(root, 'videos', 'train_00001.mp4'), 'garbage');
    await expect(loadVideoDataset(root, { split: 'train', frames: 4, size: 64, cache: false, concurrency: 3 })).rejects.toThrow(/train_00001/);
    expect(liveProcesses()).toBe(0);
  });

  it('names the file and line of a listed video with no frames', async () => {
    const root = await copy('d');
    const list = join(root, 'train_list.txt');
    const lines = (await readFile(list, 'utf8')).split('\n');
    lines[2] = lines[2]!.replace(/^(\S+) \d+ /, '$1 0 ');
    await writeFile(list, lines.join('\n'));
    const error = await loadVideoDataset(root, { split: 'train', frames: 4, size: 64, cache: false }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatasetError);
    expect((error as Error).message).toMatch(/train_list\.txt:3: num_frames is 0 for "videos\/train_00002.mp4"/);
  });

  it('is turned off by SACCADE_CACHE=0 and cleared by clearFrameCache', async () => {
    const root = await copy('e');
    const own = join(dir, 'cache-e');
    process.env.SACCADE_CACHE = '0';
    try {
      await loadVideoDataset(root, { split: 'val', frames: 4, size: 64, cacheDir: own });
      expect(existsSync(own)).toBe(false);
    } finally {
      delete process.env.SACCADE_CACHE;
    }
    await loadVideoDataset(root, { split: 'val', frames: 4, size: 64, cacheDir: own });
    await loadVideoDataset(root, { split: 'train', frames: 4, size: 64, cacheDir: own });
    const cleared = await clearFrameCache(own);
    expect(cleared.files).toBe(2);
    expect(cleared.bytes).toBe((3 + 6) * 4 * 64 * 64 * 3);
    expect(await readdir(own)).toEqual([]);
  });

  it('official layouts: lists anywhere (comma with multi-label lines, or space), paths without extensions, classes by file or count', async () => {
    const root = join(dir, 'mfm');
    const lists = join(dir, 'lists');
    await mkdir(lists, { recursive: true });
    const space = (await readFile(join(root, 'train_list.txt'), 'utf8')).trim().split('\n');
    // ActivityNet/FCVID style: "video,num_frames,label[,label2,label3]", no extension.
    const comma = space.map((line, i) => {
      const [path, frames, label] = line.split(' ');
      const extra = i === 0 ? `,${(Number(label) + 3) % 10},${label}` : i === 1 ? `,${(Number(label) + 1) % 10}` : '';
      return `${path!.replace(/\.mp4$/, '')},${frames},${label}${extra}`;
    });
    await writeFile(join(lists, 'anet_train.txt'), `${comma.join('\n')}\n`);
    await writeFile(join(lists, 'kinetics_val.txt'), await readFile(join(root, 'val_list.txt')));
    await writeFile(join(lists, 'category.txt'), Array.from({ length: 10 }, (_, i) => `thing ${i}`).join('\n'));
    const train = await loadVideoDataset(root, {
      split: 'train',
      list: join(lists, 'anet_train.txt'),
      classes: join(lists, 'category.txt'),
      frames: 4,
      size: 64,
      cacheDir,
    });
    const plain = await loadVideoDataset(root, { split: 'train', frames: 4, size: 64, cacheDir });
    expect(train.classes[3]).toBe('thing 3');
    expect(train.length).toBe(plain.length);
    for (let i = 0; i < train.length; i++) {
      expect(train.label(i)).toBe(plain.label(i));
      expect(sameBytes(train.video(i), plain.video(i))).toBe(true);
    }
    // Distinct labels, sorted, the first listed one as the label.
    const l0 = plain.label(0);
    expect(train.labelSet!(0)).toEqual([...new Set([l0, (l0 + 3) % 10])].sort((a, b) => a - b));
    expect(train.labelSet!(1)).toEqual([plain.label(1), (plain.label(1) + 1) % 10].sort((a, b) => a - b));
    expect(train.labelSet!(2)).toEqual([plain.label(2)]);
    expect(plain.labelSet).toBeUndefined();
    const val = await loadVideoDataset(root, { split: 'val', list: join(lists, 'kinetics_val.txt'), classes: 10, frames: 4, size: 64, cacheDir });
    expect(val.classes).toEqual(Array.from({ length: 10 }, (_, i) => `class ${i}`));
    expect(val.length).toBe(3);
    await expect(loadVideoDataset(root, { split: 'val', list: join(lists, 'missing.txt'), frames: 4, size: 64 })).rejects.toThrow(
      /missing\.txt: list file not found/,
    );
    await expect(loadVideoDataset(root, { split: 'val', classes: join(lists, 'none.txt'), frames: 4, size: 64 })).rejects.toThrow(
      /none\.txt: class file not found/,
    );
    await expect(loadVideoDataset(root, { split: 'val', classes: 1, frames: 4, size: 64 })).rejects.toThrow(
      /classes: must be a class file or a whole number >= 2/,
    );
  });

  it('names what is missing', async () => {
    await expect(loadVideoDataset(join(dir, 'none'), { split: 'train', frames: 4, size: 64 })).rejects.toThrow(DatasetError);
    await expect(loadVideoDataset(join(dir, 'mfm'), { split: 'test', frames: 4, size: 64 })).rejects.toThrow(/list file not found/);
  });
});
