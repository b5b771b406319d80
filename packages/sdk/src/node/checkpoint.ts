/**
 * Node-only: checkpoints as one file, `checkpoint.bin` in the run folder, replaced atomically
 * (written to a temporary file, synced, renamed), so that a kill at any moment leaves the previous
 * checkpoint loadable. Layout: "SACCKPT1", a uint32 header length, a JSON header (the run state
 * and a tensor index), then the float32 data of every tensor.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '@saccade/tensor/node';

import type { TrainConfig } from '../config/base.js';
import { migrateConfigV1 } from '../config/v1.js';
import { CheckpointError } from '../errors.js';
import type { Checkpoint, CheckpointStore } from '../train.js';

const MAGIC = 'SACCKPT1';

interface Index {
  group: 'weights' | 'optimizer' | 'best';
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  offset: number;
}

export async function writeCheckpoint(path: string, ck: Checkpoint): Promise<void> {
  const index: Index[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const group of ['weights', 'optimizer', 'best'] as const) {
    for (const [name, t] of Object.entries(ck[group] ?? {})) {
      const data = await t.data();
      const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
      index.push({ group, name, shape: t.shape, dtype: t.dtype === 'int32' ? 'int32' : 'float32', offset });
      chunks.push(bytes);
      offset += bytes.byteLength;
    }
  }
  const { weights: _w, optimizer: _o, best: _b, ...state } = ck;
  const header = new TextEncoder().encode(JSON.stringify({ ...state, index }));
  const out = new Uint8Array(8 + 4 + header.byteLength + offset);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, header.byteLength, true);
  out.set(header, 12);
  let at = 12 + header.byteLength;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  await writeFileAtomic(path, out);
}

export async function readCheckpoint(path: string): Promise<Checkpoint> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (error) {
    throw new CheckpointError(path, `cannot be read: ${(error as Error).message}`);
  }
  if (buf.byteLength < 12 || buf.subarray(0, 8).toString('latin1') !== MAGIC) throw new CheckpointError(path, 'is not a Saccade checkpoint (bad magic)');
  const headerLength = buf.readUInt32LE(8);
  if (12 + headerLength > buf.byteLength) throw new CheckpointError(path, 'is truncated (header)');
  let header: Omit<Checkpoint, 'weights' | 'optimizer'> & { index: Index[] };
  try {
    header = JSON.parse(buf.subarray(12, 12 + headerLength).toString('utf8'));
  } catch {
    throw new CheckpointError(path, 'has a corrupt header');
  }
  if (header.version !== 1 && header.version !== 2) throw new CheckpointError(path, `is version ${header.version}; this Saccade reads versions 1 and 2`);
  const base = 12 + headerLength;
  const weights: Record<string, tf.Tensor> = {};
  const optimizer: Record<string, tf.Tensor> = {};
  const best: Record<string, tf.Tensor> = {};
  const groups = { weights, optimizer, best };
  for (const e of header.index) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    const start = base + e.offset;
    if (start + n * 4 > buf.byteLength) {
      tf.dispose([...Object.values(weights), ...Object.values(optimizer), ...Object.values(best)]);
      throw new CheckpointError(path, `is truncated (tensor ${e.group}/${e.name})`);
    }
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset + start, n * 4).slice();
    const values = e.dtype === 'int32' ? new Int32Array(bytes.buffer) : new Float32Array(bytes.buffer);
    const group = groups[e.group];
    if (!group) {
      tf.dispose([...Object.values(weights), ...Object.values(optimizer), ...Object.values(best)]);
      throw new CheckpointError(path, `names an unknown tensor group ${JSON.stringify(e.group)}`);
    }
    group[e.name] = tf.tensor(values, e.shape, e.dtype);
  }
  const { index: _i, ...state } = header;
  return { ...upgrade(state), weights, optimizer, ...(Object.keys(best).length > 0 ? { best } : {}) };
}

/**
 * The run state of a checkpoint (config, classes, epoch, step, history) without its tensors: reads
 * only the header, so that a resume can be checked before anything is loaded or written.
 */
export async function readCheckpointState(path: string): Promise<Omit<Checkpoint, 'weights' | 'optimizer'>> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new CheckpointError(path, `cannot be read: ${(error as Error).message}`);
  }
  try {
    const head = Buffer.alloc(12);
    const { bytesRead } = await handle.read(head, 0, 12, 0);
    if (bytesRead < 12 || head.subarray(0, 8).toString('latin1') !== MAGIC) throw new CheckpointError(path, 'is not a Saccade checkpoint (bad magic)');
    const headerLength = head.readUInt32LE(8);
    const header = Buffer.alloc(headerLength);
    const read = await handle.read(header, 0, headerLength, 12);
    if (read.bytesRead < headerLength) throw new CheckpointError(path, 'is truncated (header)');
    let parsed: Omit<Checkpoint, 'weights' | 'optimizer'> & { index?: unknown };
    try {
      parsed = JSON.parse(header.toString('utf8'));
    } catch {
      throw new CheckpointError(path, 'has a corrupt header');
    }
    if (parsed.version !== 1 && parsed.version !== 2) throw new CheckpointError(path, `is version ${parsed.version}; this Saccade reads versions 1 and 2`);
    const { index: _index, ...state } = parsed;
    return upgrade(state);
  } finally {
    await handle.close();
  }
}

/** A version-1 run state as version 2: its flat config migrated to its method's (migrateConfigV1). */
function upgrade<S extends { version: 1 | 2; config: TrainConfig }>(state: S): S {
  return state.version === 1 ? { ...state, version: 2, config: migrateConfigV1(state.config) as TrainConfig } : state;
}

/** A CheckpointStore on `${dir}/checkpoint.bin`. */
export function fileCheckpoints(dir: string): CheckpointStore & { path: string } {
  const path = join(dir, 'checkpoint.bin');
  return {
    path,
    async load() {
      return existsSync(path) ? readCheckpoint(path) : undefined;
    },
    async save(ck) {
      await mkdir(dir, { recursive: true });
      await writeCheckpoint(path, ck);
    },
  };
}
