import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';

import { fileIO, ModelFileError } from './file-io.js';

const root = await mkdtemp(join(tmpdir(), 'saccade-io-'));
afterAll(() => rm(root, { recursive: true, force: true }));

function model(seed: number) {
  return tf.sequential({
    layers: [tf.layers.dense({ inputShape: [3], units: 4, kernelInitializer: tf.initializers.glorotUniform({ seed }) }), tf.layers.dense({ units: 2 })],
  });
}

describe('fileIO', () => {
  it('saves and loads a layers model with identical outputs', async () => {
    const dir = join(root, 'a');
    const m = model(1);
    await m.save(fileIO(dir));
    const loaded = await tf.loadLayersModel(fileIO(dir));
    const x = tf.tensor2d([[1, 2, 3]]);
    const [a, b] = [m.predict(x) as tf.Tensor, loaded.predict(x) as tf.Tensor];
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([x, a, b]);
    m.dispose();
    loaded.dispose();
  });

  it('replaces a save atomically and removes the old shard only after model.json moved', async () => {
    const dir = join(root, 'b');
    const m1 = model(1);
    const m2 = model(2);
    await m1.save(fileIO(dir));
    const first = (await readdir(dir)).filter((f) => f.endsWith('.bin'));
    await m2.save(fileIO(dir));
    const files = await readdir(dir);
    expect(files.filter((f) => f.endsWith('.bin'))).toHaveLength(1);
    expect(files.filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect(files).not.toContain(first[0]);
    const manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    expect(files).toContain(manifest.weightsManifest[0].paths[0]);
    m1.dispose();
    m2.dispose();
  });

  it('says what is wrong with a missing folder, bad JSON or a truncated shard', async () => {
    await expect(fileIO(join(root, 'none')).load!()).rejects.toThrow(/model.json: cannot be read \(ENOENT\)/);
    const dir = join(root, 'c');
    const m = model(3);
    await m.save(fileIO(dir));
    m.dispose();
    const shard = (await readdir(dir)).find((f) => f.endsWith('.bin'))!;
    const bytes = await readFile(join(dir, shard));
    await writeFile(join(dir, shard), bytes.subarray(0, 10));
    await expect(fileIO(dir).load!()).rejects.toThrow(/truncated or corrupt shard/);
    await writeFile(join(dir, 'model.json'), '{ nope');
    await expect(fileIO(dir).load!()).rejects.toBeInstanceOf(ModelFileError);
  });
});
