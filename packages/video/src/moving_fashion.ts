/**
 * The Moving Fashion-MNIST benchmark: videos in which one Fashion-MNIST item (the class) moves
 * smoothly over a cluttered background, so that the premise of adaptive focus is testable on two
 * CPU cores. Each video: T frames of S x S (default 16 of 128 x 128); a static low-frequency
 * texture; static clutter made of block-shuffled fragments of other items (their texture, not
 * their shape, so no class); the item, scaled up, on a straight trajectory that bounces off the
 * borders. Written in the official layout: mp4 files, classInd.txt, and train/val lists in both
 * the space format (Mini-Kinetics) and the comma format (ActivityNet), plus manifest.json with the
 * item's box in every frame. The same options and seed give the same bytes. The folder is built
 * under a temporary name and moved into place when complete.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { Rng } from '@saccade/tensor';

import { encodeVideo } from './encode.js';
import { VideoOptionError } from './errors.js';
import { FASHION_MNIST_CLASSES, loadFashionMnist, type FashionMnist, type FashionMnistSplit } from './fashion_mnist.js';

export interface MovingFashionOptions {
  /** Output folder (replaced atomically when complete). */
  out: string;
  /** Fashion-MNIST folder; default $FASHION_MNIST_DIR, Debian's package, else the shipped sample. */
  source?: string;
  trainVideos?: number;
  valVideos?: number;
  /** Frames per video. Default 16. */
  frames?: number;
  /** Frame side in pixels. Default 128. */
  size?: number;
  /** Side of the moving item (Fashion-MNIST's 28 px scaled). Default 40. */
  itemSize?: number;
  /** Number of clutter fragments. Default 3. */
  clutter?: number;
  /** Brightness of the clutter relative to the item. Default 0.6. */
  clutterIntensity?: number;
  /** Peak brightness of the background texture (0..1). Default 0.35. */
  backgroundIntensity?: number;
  /** Item speed range in pixels per frame. Default [1.5, 4]. */
  speed?: readonly [number, number];
  /**
   * Temporal redundancy: the fraction of each video's frames (0..1, rounded to whole frames) for
   * which the item is hidden, as behind an occluder: one contiguous stretch at a random start per
   * video, during which the frames show only background and clutter (the item keeps moving
   * unseen). Frames without the item carry no evidence, so choosing frames matters (AdaFocusV3).
   * Default 0.
   */
  hidden?: number;
  /**
   * Evidence that accumulates: the fraction of the item shown in each frame (0..1]. The item is cut
   * into a 4 x 4 grid of blocks and every frame shows round(16 x reveal) of them, a new random
   * choice per frame (the rest of the item is not drawn: background and clutter show through), so
   * one frame holds part of the shape and frames together hold more of it. Default 1 (the whole item).
   */
  reveal?: number;
  fps?: number;
  seed?: number;
  /** Parallel ffmpeg encoders. Default 2. */
  concurrency?: number;
  /** Called after each video. */
  onProgress?: (done: number, total: number) => void;
}

export interface VideoRecord {
  file: string;
  split: 'train' | 'val';
  label: number;
  /** Index of the item in the Fashion-MNIST split it came from. */
  source: number;
  /** Top-left corner [y, x] of the item in each frame (pixels), also where it is hidden. */
  boxes: [number, number][];
  /** Whether the item is visible in each frame (false during the hidden stretch). */
  visible: boolean[];
}

export interface MovingFashionDataset {
  root: string;
  classes: string[];
  videos: VideoRecord[];
  source: FashionMnist['source'];
}

function resizeBilinear(src: Uint8Array, from: number, to: number): Float32Array {
  const out = new Float32Array(to * to);
  const scale = from / to;
  for (let y = 0; y < to; y++) {
    const sy = Math.min(from - 1, Math.max(0, (y + 0.5) * scale - 0.5));
    const y0 = Math.floor(sy);
    const y1 = Math.min(from - 1, y0 + 1);
    const fy = sy - y0;
    for (let x = 0; x < to; x++) {
      const sx = Math.min(from - 1, Math.max(0, (x + 0.5) * scale - 0.5));
      const x0 = Math.floor(sx);
      const x1 = Math.min(from - 1, x0 + 1);
      const fx = sx - x0;
      const top = src[y0 * from + x0]! * (1 - fx) + src[y0 * from + x1]! * fx;
      const bottom = src[y1 * from + x0]! * (1 - fx) + src[y1 * from + x1]! * fx;
      out[y * to + x] = (top * (1 - fy) + bottom * fy) / 255;
    }
  }
  return out;
}

function image(split: FashionMnistSplit, index: number): Uint8Array {
  return split.images.subarray(index * 784, (index + 1) * 784);
}

/** A 28 x 28 image cut into 4 x 4 blocks of 7 x 7 and shuffled: the texture stays, the shape goes. */
function blockShuffle(src: Uint8Array, rng: Rng): Uint8Array {
  const order = rng.shuffle(Array.from({ length: 16 }, (_, i) => i));
  const out = new Uint8Array(784);
  order.forEach((from, to) => {
    const [fy, fx] = [Math.floor(from / 4) * 7, (from % 4) * 7];
    const [ty, tx] = [Math.floor(to / 4) * 7, (to % 4) * 7];
    for (let y = 0; y < 7; y++) for (let x = 0; x < 7; x++) out[(ty + y) * 28 + tx + x] = src[(fy + y) * 28 + fx + x]!;
  });
  return out;
}

function background(size: number, intensity: number, rng: Rng): Float32Array {
  const waves = Array.from({ length: 4 }, () => ({
    fy: rng.uniform(0.5, 3) * (rng.bernoulli(0.5) ? 1 : -1),
    fx: rng.uniform(0.5, 3) * (rng.bernoulli(0.5) ? 1 : -1),
    phase: rng.uniform(0, 2 * Math.PI),
    weight: rng.uniform(0.5, 1),
  }));
  const out = new Float32Array(size * size);
  let min = Infinity;
  let max = -Infinity;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let v = 0;
      for (const w of waves) v += w.weight * Math.sin((2 * Math.PI * (w.fy * y + w.fx * x)) / size + w.phase);
      out[y * size + x] = v;
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = ((out[i]! - min) / (max - min || 1)) * intensity;
  return out;
}

function paste(
  canvas: Float32Array,
  size: number,
  patch: Float32Array,
  side: number,
  top: number,
  left: number,
  gain: number,
  shown?: (y: number, x: number) => boolean,
): void {
  for (let y = 0; y < side; y++) {
    const cy = top + y;
    if (cy < 0 || cy >= size) continue;
    for (let x = 0; x < side; x++) {
      const cx = left + x;
      if (cx < 0 || cx >= size || (shown && !shown(y, x))) continue;
      const v = patch[y * side + x]! * gain;
      if (v > canvas[cy * size + cx]!) canvas[cy * size + cx] = v;
    }
  }
}

/** Render one video's frames (RGB bytes) and the item's boxes. Pure in its arguments. */
export function renderMovingFashionVideo(
  item: Uint8Array,
  clutter: readonly Uint8Array[],
  rng: Rng,
  o: Required<Pick<MovingFashionOptions, 'frames' | 'size' | 'itemSize' | 'clutterIntensity' | 'backgroundIntensity' | 'speed'>> &
    Pick<MovingFashionOptions, 'hidden' | 'reveal'>,
): { data: Uint8Array; boxes: [number, number][]; visible: boolean[] } {
  const { frames, size, itemSize } = o;
  const base = background(size, o.backgroundIntensity, rng.fork('background'));
  const layout = rng.fork('clutter');
  for (const c of clutter) {
    const shuffled = resizeBilinear(blockShuffle(c, layout), 28, itemSize);
    paste(base, size, shuffled, itemSize, layout.int(0, size - itemSize), layout.int(0, size - itemSize), o.clutterIntensity);
  }
  const sprite = resizeBilinear(item, 28, itemSize);
  const motion = rng.fork('motion');
  const range = size - itemSize;
  let y = motion.uniform(0, range);
  let x = motion.uniform(0, range);
  const angle = motion.uniform(0, 2 * Math.PI);
  const speed = motion.uniform(o.speed[0], o.speed[1]);
  let vy = speed * Math.sin(angle);
  let vx = speed * Math.cos(angle);
  // Drawn from its own stream, so that hidden = 0 renders the same bytes as before the option.
  const hiddenFrames = Math.round((o.hidden ?? 0) * frames);
  const hiddenStart = hiddenFrames > 0 ? rng.fork('hidden').int(0, frames - hiddenFrames) : 0;
  // Drawn from its own stream too: reveal = 1 renders the same bytes as before the option.
  const reveal = o.reveal ?? 1;
  const blocks = Math.round(16 * reveal);
  const revealRng = rng.fork('reveal');
  const block = (v: number) => Math.min(3, Math.floor((v * 4) / itemSize));
  const data = new Uint8Array(frames * size * size * 3);
  const boxes: [number, number][] = [];
  const visible: boolean[] = [];
  for (let t = 0; t < frames; t++) {
    const canvas = Float32Array.from(base);
    const [ty, tx] = [Math.round(y), Math.round(x)];
    boxes.push([ty, tx]);
    const shown = t < hiddenStart || t >= hiddenStart + hiddenFrames;
    visible.push(shown);
    if (shown && blocks >= 16) paste(canvas, size, sprite, itemSize, ty, tx, 1);
    else if (shown) {
      const on = new Set(revealRng.shuffle(Array.from({ length: 16 }, (_, i) => i)).slice(0, blocks));
      paste(canvas, size, sprite, itemSize, ty, tx, 1, (py, px) => on.has(block(py) * 4 + block(px)));
    }
    const offset = t * size * size * 3;
    for (let i = 0; i < canvas.length; i++) {
      const v = Math.round(Math.min(1, canvas[i]!) * 255);
      data[offset + 3 * i] = v;
      data[offset + 3 * i + 1] = v;
      data[offset + 3 * i + 2] = v;
    }
    y += vy;
    x += vx;
    if (y < 0 || y > range) {
      vy = -vy;
      y = y < 0 ? -y : 2 * range - y;
    }
    if (x < 0 || x > range) {
      vx = -vx;
      x = x < 0 ? -x : 2 * range - x;
    }
  }
  return { data, boxes, visible };
}

function check(name: string, v: number, min: number, integer = true): void {
  if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
    throw new VideoOptionError(name, `must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${v}`);
  }
}

/** Build the benchmark into `out` (written to a temporary folder, renamed into place when complete). */
export async function buildMovingFashionMnist(options: MovingFashionOptions): Promise<MovingFashionDataset> {
  const o = {
    trainVideos: 500,
    valVideos: 200,
    frames: 16,
    size: 128,
    itemSize: 40,
    clutter: 3,
    clutterIntensity: 0.6,
    backgroundIntensity: 0.35,
    speed: [1.5, 4] as const,
    hidden: 0,
    reveal: 1,
    fps: 8,
    seed: 0,
    concurrency: 2,
    ...options,
  };
  check('trainVideos', o.trainVideos, 0);
  check('valVideos', o.valVideos, 0);
  check('frames', o.frames, 1);
  check('size', o.size, 8);
  if (o.size % 2) throw new VideoOptionError('size', `must be even (H.264), got ${o.size}`);
  check('itemSize', o.itemSize, 4);
  if (o.itemSize > o.size) throw new VideoOptionError('itemSize', `${o.itemSize} is larger than the frame (${o.size})`);
  check('clutter', o.clutter, 0);
  check('clutterIntensity', o.clutterIntensity, 0, false);
  check('concurrency', o.concurrency, 1);
  if (!(o.hidden >= 0 && o.hidden < 1)) throw new VideoOptionError('hidden', `must be a fraction of the frames in [0, 1), got ${o.hidden}`);
  if (!(o.reveal > 0 && o.reveal <= 1)) throw new VideoOptionError('reveal', `must be the fraction of the item shown per frame, in (0, 1], got ${o.reveal}`);
  if (!(o.speed[0] >= 0 && o.speed[1] >= o.speed[0])) throw new VideoOptionError('speed', `must be [min, max] with 0 <= min <= max, got [${o.speed}]`);

  const mnist = await loadFashionMnist(o.source);
  const root = new Rng(o.seed);
  const temp = `${o.out}.tmp-${process.pid}-${root.fork('temp').int(0, 1e9)}`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(join(temp, 'videos'), { recursive: true });

  const byClass = (split: FashionMnistSplit) => {
    const lists: number[][] = Array.from({ length: 10 }, () => []);
    split.labels.forEach((l, i) => lists[l]!.push(i));
    return lists;
  };
  const plans: { split: 'train' | 'val'; index: number; label: number; source: number; clutter: number[] }[] = [];
  for (const [split, count, data] of [
    ['train', o.trainVideos, mnist.train],
    ['val', o.valVideos, mnist.test],
  ] as const) {
    const pool = byClass(data);
    const pick = root.fork(`${split}-items`);
    for (let i = 0; i < count; i++) {
      const label = i % 10; // balanced classes
      const source = pick.pick(pool[label]!);
      const clutter = Array.from({ length: o.clutter }, () => pick.int(0, data.count - 1));
      plans.push({ split, index: i, label, source, clutter });
    }
  }

  const videos: VideoRecord[] = new Array(plans.length);
  let next = 0;
  let done = 0;
  try {
    const worker = async () => {
      while (next < plans.length) {
        const k = next++;
        const p = plans[k]!;
        const data = p.split === 'train' ? mnist.train : mnist.test;
        const file = `videos/${p.split}_${String(p.index).padStart(5, '0')}.mp4`;
        const rendered = renderMovingFashionVideo(
          image(data, p.source),
          p.clutter.map((c) => image(data, c)),
          root.fork(`${p.split}-${p.index}`),
          o,
        );
        await encodeVideo(join(temp, file), rendered.data, { width: o.size, height: o.size, fps: o.fps, crf: 12 });
        videos[k] = { file, split: p.split, label: p.label, source: p.source, boxes: rendered.boxes, visible: rendered.visible };
        o.onProgress?.(++done, plans.length);
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.concurrency, Math.max(1, plans.length)) }, worker));
    const classes = [...FASHION_MNIST_CLASSES];
    await writeFile(join(temp, 'classInd.txt'), classes.map((c, i) => `${i + 1} ${c}`).join('\n') + '\n');
    for (const split of ['train', 'val'] as const) {
      const rows = videos.filter((v) => v.split === split);
      await writeFile(join(temp, `${split}_list.txt`), rows.map((v) => `${v.file} ${o.frames} ${v.label}`).join('\n') + (rows.length ? '\n' : ''));
      await writeFile(
        join(temp, `${split}_list_comma.txt`),
        rows.map((v) => `${v.file.replace(/\.mp4$/, '')},${o.frames},${v.label}`).join('\n') + (rows.length ? '\n' : ''),
      );
    }
    const manifest = {
      name: 'moving-fashion-mnist',
      options: { ...o, out: undefined, source: undefined, onProgress: undefined, fashionMnist: mnist.source },
      classes,
      videos,
    };
    await writeFile(join(temp, 'manifest.json'), JSON.stringify(manifest));
    // Move the finished folder into place; an older build is moved aside first and removed after.
    const old = `${o.out}.old-${process.pid}`;
    let hadOld = true;
    await rename(o.out, old).catch(() => (hadOld = false));
    await rename(temp, o.out);
    if (hadOld) await rm(old, { recursive: true, force: true });
    return { root: o.out, classes, videos, source: mnist.source };
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}
