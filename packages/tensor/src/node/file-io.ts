/**
 * A tfjs IOHandler for a folder on disk (Node only; `@saccade/tensor/node`). tfjs itself has no
 * file handler without @tensorflow/tfjs-node. Saves are atomic for readers: the weights go to a
 * new content-named shard first, model.json is replaced by rename last, and only then are shards
 * that model.json no longer names removed. A kill at any moment leaves a loadable folder.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, realpath, rename, rm } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';

import type { io } from '@tensorflow/tfjs';

import { SaccadeTensorError } from '../errors.js';

/** A model folder that is missing, unreadable or inconsistent. */
export class ModelFileError extends SaccadeTensorError {
  override name = 'ModelFileError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super('BAD_MODEL_FILE', `${path}: ${message}`);
  }
}

export interface FileIOOptions {
  /** Name of the topology file. Default 'model.json'. */
  modelFileName?: string;
  /**
   * Refuse (ModelFileError) a weight shard whose path, symlinks resolved, is not inside this
   * folder. Default: the model's own folder. A manifest path is data, never a licence to read
   * elsewhere.
   */
  confineTo?: string;
  /**
   * Called with each shard's path (as named in the manifest) and the exact bytes that will be
   * used, before any weight is made from them; throw to refuse the model (a size or hash check).
   */
  verifyShard?: (path: string, data: Uint8Array) => void;
}

/** Whether `path` (resolved, symlinks followed) lies inside the folder `root` (also resolved). */
export async function isInside(root: string, path: string): Promise<boolean> {
  let realRoot: string;
  let real: string;
  try {
    realRoot = await realpath(root);
    real = await realpath(path);
  } catch {
    // Not there: judge the path as written.
    realRoot = resolve(root);
    real = resolve(path);
  }
  const rel = relative(realRoot, real);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * Write a file so that a reader sees the old content or the new, never a part: written to a
 * temporary file beside it (`NAME.tmp-PID-RANDOM`), synced, then renamed. Several parts are written
 * one after the other (no concatenated copy).
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string | readonly Uint8Array[]): Promise<void> {
  const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const handle = await open(temp, 'w');
  try {
    if (typeof data === 'string' || data instanceof Uint8Array) await handle.writeFile(data);
    else for (const part of data) await handle.write(part);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

function concat(buffers: ArrayBuffer[]): ArrayBuffer {
  const total = buffers.reduce((n, b) => n + b.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    out.set(new Uint8Array(b), offset);
    offset += b.byteLength;
  }
  return out.buffer;
}

export function fileIO(dir: string, options: FileIOOptions = {}): io.IOHandler {
  const modelFile = join(dir, options.modelFileName ?? 'model.json');
  return {
    async save(artifacts: io.ModelArtifacts): Promise<io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new ModelFileError(modelFile, 'binary (GraphDef) topologies are not supported; save a tfjs-layers model');
      }
      await mkdir(dir, { recursive: true });
      const weights = artifacts.weightData
        ? new Uint8Array(Array.isArray(artifacts.weightData) ? concat(artifacts.weightData) : artifacts.weightData)
        : new Uint8Array(0);
      const shard = `weights-${createHash('sha256').update(weights).digest('hex').slice(0, 16)}.bin`;
      await writeFileAtomic(join(dir, shard), weights);
      const json = {
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy ?? 'TensorFlow.js',
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology,
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        ...(artifacts.userDefinedMetadata ? { userDefinedMetadata: artifacts.userDefinedMetadata } : {}),
        weightsManifest: [{ paths: [shard], weights: artifacts.weightSpecs ?? [] }],
      };
      await writeFileAtomic(modelFile, JSON.stringify(json));
      for (const name of await readdir(dir)) {
        if (/^weights-[0-9a-f]{16}\.bin$/.test(name) && name !== shard) await rm(join(dir, name), { force: true });
      }
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          modelTopologyBytes: JSON.stringify(artifacts.modelTopology ?? null).length,
          weightSpecsBytes: JSON.stringify(artifacts.weightSpecs ?? []).length,
          weightDataBytes: weights.byteLength,
        },
      };
    },

    async load(): Promise<io.ModelArtifacts> {
      let text: string;
      try {
        text = await readFile(modelFile, 'utf8');
      } catch (error) {
        throw new ModelFileError(modelFile, `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
      }
      let json: {
        modelTopology?: object;
        weightsManifest?: { paths: string[]; weights: io.WeightsManifestEntry[] }[];
        format?: string;
        generatedBy?: string;
        convertedBy?: string | null;
        trainingConfig?: io.TrainingConfig;
        userDefinedMetadata?: { [key: string]: object };
      };
      try {
        json = JSON.parse(text);
      } catch (error) {
        throw new ModelFileError(modelFile, `is not valid JSON (${(error as Error).message})`);
      }
      if (!json.weightsManifest || !Array.isArray(json.weightsManifest)) {
        throw new ModelFileError(modelFile, 'has no weightsManifest');
      }
      const specs: io.WeightsManifestEntry[] = [];
      const buffers: ArrayBuffer[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const path of group.paths) {
          if (typeof path !== 'string' || path === '' || isAbsolute(path))
            throw new ModelFileError(modelFile, `names a weight shard ${JSON.stringify(path)} that is not a relative path`);
          const shardPath = join(dir, path);
          if (!(await isInside(options.confineTo ?? dir, shardPath))) {
            throw new ModelFileError(modelFile, `names a weight shard ${JSON.stringify(path)} outside ${options.confineTo ?? dir}; refused`);
          }
          let data: Buffer;
          try {
            data = await readFile(shardPath);
          } catch (error) {
            throw new ModelFileError(
              shardPath,
              `weight shard named in ${modelFile} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
            );
          }
          options.verifyShard?.(path, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
          buffers.push(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
        }
      }
      const weightData = concat(buffers);
      const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * bytesPer(s.dtype, s.quantization), 0);
      if (expected !== weightData.byteLength) {
        throw new ModelFileError(
          modelFile,
          `weight shards hold ${weightData.byteLength} bytes but the manifest describes ${expected} (truncated or corrupt shard)`,
        );
      }
      return {
        modelTopology: json.modelTopology,
        weightSpecs: specs,
        weightData,
        ...(json.format ? { format: json.format } : {}),
        ...(json.generatedBy ? { generatedBy: json.generatedBy } : {}),
        ...(json.convertedBy ? { convertedBy: json.convertedBy } : {}),
        ...(json.trainingConfig ? { trainingConfig: json.trainingConfig } : {}),
        ...(json.userDefinedMetadata ? { userDefinedMetadata: json.userDefinedMetadata } : {}),
      };
    },
  };
}

function bytesPer(dtype: string, quantization?: io.WeightsManifestEntry['quantization']): number {
  if (quantization) return quantization.dtype === 'uint16' || quantization.dtype === 'float16' ? 2 : 1;
  return dtype === 'float32' || dtype === 'int32' ? 4 : dtype === 'bool' ? 1 : 4;
}
