/**
 * Node-only: bundles on disk. `saveBundle` writes the whole folder under a temporary name next to
 * the target and swaps it in by rename, so a failed save never leaves a half-written bundle where a
 * good one was. `loadModel` checks saccade.json, every shard's presence, size and content hash
 * (shards are named by their SHA-256), then loads the sub-networks.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { fileIO, writeFileAtomic } from '@saccade/tensor/node';
import { decodeFrames, probe, uniformSample } from '@saccade/video';

import { checkMeta, createMeta, loadBundleWith } from '../bundle.js';
import type { VideoNet } from '../adafocus.js';
import { BundleError, InputError } from '../errors.js';
import { encodeThresholds, type BundleMeta, type FramesInput, type SaccadeModel } from '../model.js';
import { writeFolderAtomic } from './folder.js';

/** Decode a video file to T evenly spaced frames of S x S with ffmpeg. */
export async function decodeVideo(path: string, frames: number, size: number): Promise<FramesInput> {
  if (!existsSync(path)) throw new InputError(path, 'no such file');
  const info = await probe(path);
  const total = info.frames ?? 0;
  if (total === 0) throw new InputError(path, 'the video has no frames');
  const d = await decodeFrames(path, { indices: uniformSample(total, frames), width: size, height: size, info });
  if (d.frames === 0) throw new InputError(path, 'the video has no frames');
  return { data: d.data, frames: d.frames, width: d.width, height: d.height, sourceFrames: total };
}

export interface SaveBundleOptions {
  classes: readonly string[];
  exit?: BundleMeta['exit'];
  metrics?: Record<string, unknown>;
}

function serialiseMeta(meta: BundleMeta): string {
  const exit = meta.exit ? { ...meta.exit, budgets: meta.exit.budgets.map((b) => ({ ...b, thresholds: encodeThresholds(b.thresholds) })) } : undefined;
  return `${JSON.stringify({ ...meta, ...(exit ? { exit } : {}) }, null, 2)}\n`;
}

/** Write a bundle folder for a network (or a loaded model, to store new exit thresholds). */
export async function saveBundle(source: VideoNet | SaccadeModel, dir: string, options?: Partial<SaveBundleOptions>): Promise<BundleMeta> {
  const isModel = 'meta' in source;
  const net = isModel ? source.net : source;
  const classes = options?.classes ?? (isModel ? source.meta.classes : undefined);
  if (!classes) throw new InputError('classes', 'saveBundle needs the class names');
  const base = isModel ? source.meta : undefined;
  const meta = createMeta(net, classes, {
    exit: options?.exit ?? base?.exit,
    metrics: options?.metrics ?? base?.metrics,
  });
  await writeFolderAtomic(dir, async (temp) => {
    for (const [name, model] of Object.entries(net.models())) await model.save(fileIO(join(temp, name)));
    await writeFileAtomic(join(temp, 'saccade.json'), serialiseMeta(meta));
  });
  return meta;
}

async function checkShards(bundle: string, folder: string): Promise<void> {
  const modelJson = join(bundle, folder, 'model.json');
  if (!existsSync(modelJson)) throw new BundleError(bundle, `${folder}/model.json is missing`);
  let parsed: { weightsManifest?: { paths: string[]; weights: { shape: number[]; dtype: string }[] }[] };
  try {
    parsed = JSON.parse(await readFile(modelJson, 'utf8'));
  } catch {
    throw new BundleError(bundle, `${folder}/model.json is not valid JSON`);
  }
  for (const group of parsed.weightsManifest ?? []) {
    const expected = group.weights.reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1) * 4, 0);
    let total = 0;
    for (const p of group.paths) {
      const file = join(bundle, folder, p);
      if (!existsSync(file)) throw new BundleError(bundle, `${folder}/${p} (a weight shard) is missing`);
      const bytes = await readFile(file);
      total += (await stat(file)).size;
      const m = /^weights-([0-9a-f]{16})\.bin$/.exec(p);
      if (m && createHash('sha256').update(bytes).digest('hex').slice(0, 16) !== m[1]) throw new BundleError(bundle, `${folder}/${p} is corrupt (its SHA-256 does not match its name)`);
    }
    if (total !== expected) throw new BundleError(bundle, `${folder}: shards hold ${total} bytes, model.json's weights need ${expected}`);
  }
}

/** Load a bundle folder written by saveBundle (or `saccade train`). */
export async function loadModel(path: string, options: { method?: BundleMeta['method'] } = {}): Promise<SaccadeModel> {
  const bundle = resolve(path);
  const metaFile = join(bundle, 'saccade.json');
  if (!existsSync(metaFile)) throw new BundleError(bundle, existsSync(bundle) ? 'has no saccade.json (not a Saccade bundle)' : 'no such folder');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(metaFile, 'utf8'));
  } catch {
    throw new BundleError(bundle, 'saccade.json is not valid JSON');
  }
  const meta = checkMeta(json, bundle);
  for (const folder of Object.values(meta.models)) await checkShards(bundle, folder);
  return loadBundleWith(meta, bundle, (folder) => fileIO(join(bundle, folder)), decodeVideo, options.method);
}

