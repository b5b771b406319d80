/**
 * Node-only: bundles on disk. `saveBundle` writes the whole folder under a temporary name next to
 * the target and swaps it in by rename, so a failed save never leaves a half-written bundle where a
 * good one was. `loadModel` checks saccade.json, every shard's presence, size and content hash
 * (shards are named by their SHA-256), then loads the sub-networks.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';

import { fileIO, isInside, writeFileAtomic } from '@saccade/tensor/node';
import { createOnnxEngine } from '@saccade/onnx';
import { decodeFrames, probe, uniformSample, type Fit } from '@saccade/video';

import { checkMeta, createMeta, loadBundleWith } from '../bundle.js';
import type { InferenceEngine } from '../engine.js';
import type { VideoNet } from '../video_net.js';
import { BundleError, InputError } from '../errors.js';
import { encodeThresholds, type BundleMeta, type FramesInput, type SaccadeModel } from '../model.js';
import { writeFolderAtomic } from './folder.js';

/** Decode a video file to T evenly spaced frames of S x S with ffmpeg (`fit`: how another aspect gets there; default squash). */
export async function decodeVideo(path: string, frames: number, size: number, fit: Fit = 'squash'): Promise<FramesInput> {
  if (!existsSync(path)) throw new InputError(path, 'no such file');
  const info = await probe(path);
  const total = info.frames ?? 0;
  if (total === 0) throw new InputError(path, 'the video has no frames');
  const d = await decodeFrames(path, { indices: uniformSample(total, frames), width: size, height: size, fit, info });
  if (d.frames === 0) throw new InputError(path, 'the video has no frames');
  return { data: d.data, frames: d.frames, width: d.width, height: d.height, sourceFrames: total, geometry: d.geometry, sourceIndices: d.indices };
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

/** Size and SHA-256 of every weight shard the sub-networks' manifests name ("folder/file"). */
async function shardDigests(bundle: string, models: Record<string, string>): Promise<NonNullable<BundleMeta['weights']>> {
  const out: NonNullable<BundleMeta['weights']> = {};
  for (const folder of Object.values(models)) {
    for (const p of (await weightGroups(bundle, folder)).flatMap((g) => g.paths)) {
      const bytes = await readFile(join(bundle, folder, p));
      out[`${folder}/${p}`] = { size: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') };
    }
  }
  return out;
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
    meta.weights = await shardDigests(temp, meta.models);
    await writeFileAtomic(join(temp, 'saccade.json'), serialiseMeta(meta));
  });
  return meta;
}

type Manifest = { weightsManifest?: { paths: unknown[]; weights: { shape: number[]; dtype: string }[] }[] };

async function readManifest(bundle: string, folder: string): Promise<Manifest> {
  const dir = join(bundle, folder);
  if (!(await isInside(bundle, dir))) throw new BundleError(bundle, `sub-network folder ${JSON.stringify(folder)} resolves outside the bundle; refused`);
  const modelJson = join(dir, 'model.json');
  if (!existsSync(modelJson)) throw new BundleError(bundle, `${folder}/model.json is missing`);
  if (!(await isInside(bundle, modelJson))) throw new BundleError(bundle, `${folder}/model.json resolves outside the bundle; refused`);
  try {
    return JSON.parse(await readFile(modelJson, 'utf8')) as Manifest;
  } catch {
    throw new BundleError(bundle, `${folder}/model.json is not valid JSON`);
  }
}

/**
 * A sub-network's weight groups as its model.json lists them: the shard paths, each checked to lie
 * inside its folder, and the bytes the group's weights need.
 */
async function weightGroups(bundle: string, folder: string): Promise<{ paths: string[]; bytes: number }[]> {
  const parsed = await readManifest(bundle, folder);
  const groups: { paths: string[]; bytes: number }[] = [];
  for (const group of parsed.weightsManifest ?? []) {
    const paths: string[] = [];
    for (const p of group.paths) {
      if (typeof p !== 'string' || p === '' || isAbsolute(p) || !(await isInside(join(bundle, folder), join(bundle, folder, p)))) {
        throw new BundleError(bundle, `${folder}/model.json names a weight shard ${JSON.stringify(p)} outside ${folder}/; refused`);
      }
      paths.push(p);
    }
    groups.push({ paths, bytes: group.weights.reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1) * 4, 0) });
  }
  return groups;
}

/**
 * Check a sub-network's files before anything is loaded: its folder, model.json and every shard
 * inside the bundle (symlinks resolved), present, of the sizes the manifest needs and, where
 * saccade.json records them, of the recorded sizes. The content hashes are checked on the bytes
 * that are loaded (shardVerifier).
 */
async function checkShards(bundle: string, folder: string, weights: BundleMeta['weights']): Promise<void> {
  for (const group of await weightGroups(bundle, folder)) {
    const expected = group.bytes;
    let total = 0;
    for (const p of group.paths) {
      const file = join(bundle, folder, p);
      if (!existsSync(file)) throw new BundleError(bundle, `${folder}/${p} (a weight shard) is missing`);
      const size = (await stat(file)).size;
      total += size;
      if (weights) {
        const recorded = weights[`${folder}/${p}`];
        if (!recorded) throw new BundleError(bundle, `${folder}/${p} is not among the shards saccade.json records; refused`);
        if (recorded.size !== size) throw new BundleError(bundle, `${folder}/${p} holds ${size} bytes, saccade.json records ${recorded.size}`);
      }
    }
    if (total !== expected) throw new BundleError(bundle, `${folder}: shards hold ${total} bytes, model.json's weights need ${expected}`);
  }
}

/** Checks each shard's bytes as they are loaded: saccade.json's SHA-256, or (older bundles) the hash in a content-named shard's name. */
function shardVerifier(bundle: string, folder: string, weights: BundleMeta['weights']): (path: string, data: Uint8Array) => void {
  return (p, data) => {
    const digest = createHash('sha256').update(data).digest('hex');
    if (weights) {
      const recorded = weights[`${folder}/${p}`];
      if (!recorded || recorded.size !== data.byteLength || recorded.sha256 !== digest)
        throw new BundleError(bundle, `${folder}/${p} is corrupt: its SHA-256 (${digest.slice(0, 16)}...) or size does not match saccade.json`);
      return;
    }
    const m = /^weights-([0-9a-f]{16})\.bin$/.exec(p);
    if (m && digest.slice(0, 16) !== m[1]) throw new BundleError(bundle, `${folder}/${p} is corrupt (its SHA-256 does not match its name)`);
  };
}

/**
 * Record every shard's size and SHA-256 in an older bundle's saccade.json (rewritten atomically).
 * The bundle is loaded first, with the checks older bundles get (sizes, and the hash in the name
 * of content-named shards). Returns the number of shards recorded.
 */
export async function addBundleHashes(path: string): Promise<{ bundle: string; shards: number; added: boolean }> {
  const bundle = resolve(path);
  const model = await loadModel(bundle, { quiet: true });
  model.dispose();
  const metaFile = join(bundle, 'saccade.json');
  const json = JSON.parse(await readFile(metaFile, 'utf8')) as BundleMeta;
  const weights = await shardDigests(bundle, json.models);
  const added = json.weights === undefined;
  await writeFileAtomic(metaFile, `${JSON.stringify({ ...json, weights }, null, 2)}\n`);
  return { bundle, shards: Object.keys(weights).length, added };
}

export interface LoadModelOptions {
  /** Refuse a bundle of another method. */
  method?: BundleMeta['method'];
  /** No warning for a bundle without weight hashes. */
  quiet?: boolean;
  /**
   * What runs the sub-networks: 'tfjs' (the default: tfjs's current backend) or 'onnx' (ONNX
   * Runtime through onnxruntime-node, an optional peer dependency: an OnnxRuntimeError with code
   * ONNX_RUNTIME_MISSING names it when it is not installed; there is no silent fallback).
   * Or an engine made by the caller (`createOnnxEngine({ transport: 'worker' })` of @saccade/onnx),
   * which the model then owns (disposes).
   */
  engine?: Engine | InferenceEngine;
  /** ONNX Runtime's threads (engine 'onnx'). Default: the cores available. */
  threads?: number;
}

/** The engines `loadModel` takes. */
export const ENGINES = ['tfjs', 'onnx'] as const;
export type Engine = (typeof ENGINES)[number];

function makeEngine(options: LoadModelOptions): InferenceEngine | undefined {
  const engine = options.engine ?? 'tfjs';
  if (typeof engine === 'object') {
    if (options.threads !== undefined) throw new InputError('threads', 'is set on the engine passed, not beside it');
    return engine;
  }
  if (!(ENGINES as readonly string[]).includes(engine)) throw new InputError('engine', `must be one of ${ENGINES.join(', ')}, got ${JSON.stringify(engine)}`);
  if (options.threads !== undefined && engine !== 'onnx') throw new InputError('threads', `sets ONNX Runtime's threads (engine 'onnx'), not ${engine}'s`);
  return engine === 'onnx' ? createOnnxEngine(options.threads === undefined ? {} : { threads: options.threads }) : undefined;
}

/**
 * Load a bundle folder written by saveBundle (or `saccade train`). Every file it reads lies inside
 * the folder, and every shard's size and SHA-256 are checked against saccade.json before any
 * weight is used. A bundle written before hashes were recorded loads with a warning (`quiet`
 * silences it).
 */
export async function loadModel(path: string, options: LoadModelOptions = {}): Promise<SaccadeModel> {
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
  for (const folder of Object.values(meta.models)) await checkShards(bundle, folder, meta.weights);
  if (!meta.weights && !options.quiet) {
    process.emitWarning(
      `${bundle}: saccade.json records no weight hashes (written before they existed), so only the shards' sizes are checked; add them with \`saccade bundle hash ${bundle}\``,
      { code: 'SACCADE_UNHASHED_BUNDLE' },
    );
  }
  const engine = makeEngine(options);
  try {
    return await loadBundleWith(
      meta,
      bundle,
      (folder) => fileIO(join(bundle, folder), { confineTo: join(bundle, folder), verifyShard: shardVerifier(bundle, folder, meta.weights) }),
      decodeVideo,
      options.method,
      engine,
    );
  } catch (error) {
    engine?.dispose();
    throw error;
  }
}
