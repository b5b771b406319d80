import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';
import { Rng } from '@saccade/tensor';
import { encodeVideo } from '@saccade/video';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { inOrder, TOY, toyDataset, toyVideo } from '../test/toy.js';
import { normalise } from './dataset.js';
import { BundleError, InputError } from './errors.js';
import { addBundleHashes, loadModel, saveBundle } from './node/bundle.js';
import { evaluate, train } from './train.js';
import { calibrateExits } from './exit.js';
import type { SaccadeModel } from './model.js';
import type { VideoNet } from './video_net.js';

let dir: string;
let net: VideoNet;
const data = toyDataset(24, 1);
const classes = ['red', 'green', 'blue'];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saccade-bundle-'));
  net = (await train({ config: { ...TOY, epochs: 2 }, train: data })).net;
  await saveBundle(net, join(dir, 'good'), { classes, metrics: { note: 'test' } });
});
afterAll(async () => {
  net.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function withModel<T>(path: string, fn: (m: SaccadeModel) => Promise<T>): Promise<T> {
  const m = await loadModel(path);
  try {
    return await fn(m);
  } finally {
    m.dispose();
  }
}

async function copyBundle(name: string): Promise<string> {
  const to = join(dir, name);
  await saveBundle(net, to, { classes });
  return to;
}

describe('bundles', () => {
  it('writes saccade.json and one tfjs-layers model per sub-network; loads to the same outputs', async () => {
    const meta = JSON.parse(await readFile(join(dir, 'good', 'saccade.json'), 'utf8'));
    expect(meta).toMatchObject({
      format: 'saccade-bundle',
      version: 2,
      method: 'adafocus_v2',
      classes,
      frames: 4,
      frameSize: 32,
      patchSize: 16,
      metrics: { note: 'test' },
    });
    expect(meta.gflopsPerStep).toHaveLength(4);
    expect(Object.keys(meta.models).sort()).toEqual(['classifier_heads', 'classifier_mlp', 'focus', 'glance', 'policy_encoder']);
    for (const folder of Object.values(meta.models) as string[]) expect(existsSync(join(dir, 'good', folder, 'model.json'))).toBe(true);
    const videos = [0, 1, 2].map((i) => data.video(i));
    const expected = tf.tidy(() => Array.from(net.forward(normalise(inOrder(net, videos), 4, 32, net.config)).logits.dataSync()));
    await withModel(join(dir, 'good'), async (m) => {
      const got = Array.from(m.logitsBatch(videos));
      // logitsBatch reads decoded pixels (forwardPixels): the same up to float rounding.
      got.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
    });
  });

  it("AdaFocusV2 with the policy on the glance's finer map (policyMap 'previous') trains, saves and loads to the same outputs", async () => {
    const fine = (await train({ config: { ...TOY, epochs: 1, policyMap: 'previous', policyReadout: 'dense' }, train: data })).net;
    try {
      // Glance 16 px, stride 8: the last map is 2 x 2; the stage before it 4 x 4.
      expect(fine.models()['policy_encoder']!.inputs[0]!.shape).toEqual([null, 4, 4, 16]);
      await saveBundle(fine, join(dir, 'fine'), { classes });
      const videos = [0, 1, 2].map((i) => data.video(i));
      const expected = tf.tidy(() => Array.from(fine.forward(normalise(inOrder(fine, videos), 4, 32, fine.config)).logits.dataSync()));
      await withModel(join(dir, 'fine'), async (m) => {
        expect(m.net.config.policyMap).toBe('previous');
        const got = Array.from(m.logitsBatch(videos));
        // logitsBatch reads decoded pixels (forwardPixels): the same up to float rounding.
        got.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
      });
    } finally {
      fine.dispose();
    }
  });

  it('AdaFocusV2 with the spatial soft-argmax policy (policyReadout spatial) trains, saves without a recurrent part and loads to the same outputs', async () => {
    const net = (await train({ config: { ...TOY, epochs: 1, policyReadout: 'spatial', policyMap: 'last' }, train: data })).net;
    try {
      expect(Object.keys(net.models())).not.toContain('policy_recurrent');
      // Glance 16 px: a 2 x 2 map of 32 channels, plus the saliency channel.
      expect(net.models()['policy_encoder']!.inputs[0]!.shape).toEqual([null, 2, 2, 33]);
      await saveBundle(net, join(dir, 'spatial'), { classes });
      const videos = [0, 1, 2].map((i) => data.video(i));
      const expected = tf.tidy(() => Array.from(net.forward(normalise(inOrder(net, videos), 4, 32, net.config)).logits.dataSync()));
      await withModel(join(dir, 'spatial'), async (m) => {
        expect(m.net.config.policyReadout).toBe('spatial');
        const got = Array.from(m.logitsBatch(videos));
        got.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 4));
        // Step by step (early exit's path): one patch per step, and the batch path's last-step label.
        const r = await m.classify({ data: data.video(0), frames: 4, width: 32, height: 32 });
        expect(r.patches).toHaveLength(4);
        const last = expected.slice(3 * classes.length, 4 * classes.length);
        expect(r.index).toBe(last.indexOf(Math.max(...last)));
      });
    } finally {
      net.dispose();
    }
  });

  it('classifies frames, a tensor and a video file (ffmpeg) with label, top-k, patches, GFLOPs and timings', async () => {
    const frames = toyVideo(2, new Rng(5));
    const file = join(dir, 'clip.mp4');
    await encodeVideo(file, frames, { width: 32, height: 32 });
    await withModel(join(dir, 'good'), async (m) => {
      const a = await m.classify({ data: frames, frames: 4, width: 32, height: 32 }, { topK: 3 });
      expect(a.topK).toHaveLength(3);
      expect(a.topK.reduce((s, t) => s + t.probability, 0)).toBeCloseTo(1, 5);
      expect(a.label).toBe(a.topK[0]!.label);
      expect([a.exitStep, a.steps]).toEqual([4, 4]);
      expect(a.patches).toHaveLength(4);
      for (const p of a.patches) {
        expect(p.size).toBe(16);
        expect(p.y).toBeGreaterThanOrEqual(8);
        expect(p.y).toBeLessThanOrEqual(24);
      }
      expect(a.gflops).toBeCloseTo(m.meta.gflopsPerVideo, 10);
      const t = tf.tensor4d(frames, [4, 32, 32, 3], 'int32');
      const b = await m.classify(t);
      t.dispose();
      expect(b.topK.slice(0, 3).map((x) => x.index)).toEqual(a.topK.map((x) => x.index));
      expect(b.probability).toBeCloseTo(a.probability, 5);
      const c = await m.classify(file);
      expect(c.timingsMs.decode).toBeGreaterThan(0);
      expect(classes).toContain(c.label);
      // Early exit: a threshold every step passes stops after step 1 and spends one step's GFLOPs.
      const early = await m.classify({ data: frames, frames: 4, width: 32, height: 32 }, { thresholds: [-1e9, -1e9, -1e9, -1e9] });
      expect(early.exitStep).toBe(1);
      expect(early.patches).toHaveLength(1);
      expect(early.gflops).toBeCloseTo(m.meta.gflopsPerStep[0]!, 10);
      const batch = await m.classifyBatch([file, { data: frames, frames: 4, width: 32, height: 32 }]);
      expect(batch).toHaveLength(2);
    });
  });

  it("a wider video, cropped (fit 'crop'), is classified as its centre; patches come back in the source's pixels", async () => {
    // The toy clip with 16 px of black on either side: 64 x 32. Cropping the centre gives the clip back.
    const frames = toyVideo(1, new Rng(9));
    const wide = new Uint8Array(4 * 32 * 64 * 3);
    for (let f = 0; f < 4; f++)
      for (let y = 0; y < 32; y++) wide.set(frames.subarray((f * 32 + y) * 32 * 3, (f * 32 + y + 1) * 32 * 3), ((f * 32 + y) * 64 + 16) * 3);
    await encodeVideo(join(dir, 'narrow.mp4'), frames, { width: 32, height: 32, crf: 0 });
    await encodeVideo(join(dir, 'wide.mp4'), wide, { width: 64, height: 32, crf: 0 });
    await withModel(join(dir, 'good'), async (m) => {
      const narrow = await m.classify(join(dir, 'narrow.mp4'));
      const cropped = await m.classify(join(dir, 'wide.mp4'), { fit: 'crop' });
      expect(cropped.frame).toMatchObject({ fit: 'crop', source: { width: 64, height: 32 }, scaleX: 1, scaleY: 1, offsetX: -16, offsetY: 0 });
      expect(cropped.topK.map((t) => t.index)).toEqual(narrow.topK.map((t) => t.index));
      expect(cropped.probability).toBeCloseTo(narrow.probability, 4);
      expect(cropped.patches).toHaveLength(narrow.patches.length);
      for (const [k, p] of cropped.patches.entries()) {
        expect(p.x).toBeCloseTo(narrow.patches[k]!.x, 3);
        // The same patch, 16 px further right in the source.
        expect(p.source!.x).toBeCloseTo(p.x - 8 + 16, 3);
        expect(p.source!.y).toBeCloseTo(p.y - 8, 3);
        expect([p.source!.width, p.source!.height]).toEqual([16, 16]);
      }
      // The model's own fit is the default: new configs crop.
      expect(m.meta.config.fit).toBe('crop');
      expect((await m.classify(join(dir, 'wide.mp4'))).frame).toEqual(cropped.frame);
      // Squashed, the patch is half as wide in the model's frame as in the source.
      const squashed = await m.classify(join(dir, 'wide.mp4'), { fit: 'squash' });
      expect(squashed.frame).toMatchObject({ fit: 'squash', scaleX: 0.5, scaleY: 1 });
      for (const p of squashed.patches) expect([p.source!.width, p.source!.height]).toEqual([32, 16]);
      // Frames given as bytes have no source geometry; source frame numbers count only for the model's T frames.
      expect((await m.classify({ data: frames, frames: 4, width: 32, height: 32 })).frame).toBeUndefined();
      expect(cropped.trace.map((t) => t.sourceIndex)).toEqual(cropped.trace.map((t) => t.frame));
      const two = { data: frames.subarray(0, 2 * 32 * 32 * 3), frames: 2, width: 32, height: 32, sourceIndices: [0, 3] };
      expect((await m.classify(two)).trace.every((t) => t.sourceIndex === undefined)).toBe(true);
    });
  });

  it('keeps tf.memory flat over many classifications', async () => {
    await withModel(join(dir, 'good'), async (m) => {
      const frames = { data: toyVideo(1, new Rng(9)), frames: 4, width: 32, height: 32 };
      await m.classify(frames);
      const before = tf.memory().numTensors;
      for (let i = 0; i < 50; i++) await m.classify(frames, { thresholds: [i % 2 ? 1e9 : -1e9, 1e9, 1e9, 1e9] });
      expect(tf.memory().numTensors).toBe(before);
    });
  });

  it('rejects bad input with an InputError: wrong size, wrong channels, empty video, missing file', async () => {
    await withModel(join(dir, 'good'), async (m) => {
      await expect(m.classify({ data: new Uint8Array(4 * 30 * 30 * 3), frames: 4, width: 30, height: 30 })).rejects.toThrow(/must be 32x32/);
      await expect(m.classify({ data: new Uint8Array(4 * 32 * 32), frames: 4, width: 32, height: 32 })).rejects.toThrow(/must be RGB \(3 channels\)/);
      await expect(m.classify({ data: new Uint8Array(0), frames: 0, width: 32, height: 32 })).rejects.toThrow(/no frames/);
      await expect(m.classify(join(dir, 'nope.mp4'))).rejects.toThrow(InputError);
      await expect(m.classify({ data: new Uint8Array(4 * 32 * 32 * 3), frames: 4, width: 32, height: 32 }, { budgetGflops: 0.001 })).rejects.toThrow(
        /no calibrated exit thresholds/,
      );
    });
  });

  it('stores calibrated exit thresholds; classify with a budget stops early and spends about the budget', async () => {
    const full = net.gflopsPerStep().reduce((a, b) => a + b, 0);
    const target = full / 2;
    const exit = calibrateExits(net, evaluate(net, data), [target]);
    expect(exit.budgets[0]!.expectedGflops).toBeLessThanOrEqual(target + 1e-12);
    const to = join(dir, 'calibrated');
    await saveBundle(net, to, { classes, exit });
    await withModel(to, async (m) => {
      expect(m.meta.exit!.budgets[0]!.thresholds.at(-1)).toBe(-Infinity);
      const spent: number[] = [];
      for (let i = 0; i < data.length; i++)
        spent.push((await m.classify({ data: data.video(i), frames: 4, width: 32, height: 32 }, { budgetGflops: target })).gflops);
      // The same videos it was calibrated on: the mean cost is the calibrated one.
      expect(spent.reduce((a, b) => a + b, 0) / spent.length).toBeCloseTo(exit.budgets[0]!.expectedGflops, 10);
      await expect(m.classify({ data: data.video(0), frames: 4, width: 32, height: 32 }, { budgetGflops: target / 10 })).rejects.toThrow(
        /below the smallest calibrated budget/,
      );
    });
  });

  it('rejects a missing or corrupt shard, a missing saccade.json and another version with a BundleError', async () => {
    const missing = await copyBundle('missing');
    const shard = (await readdir(join(missing, 'focus'))).find((f) => f.endsWith('.bin'))!;
    await rm(join(missing, 'focus', shard));
    await expect(loadModel(missing)).rejects.toThrow(/focus\/weights-.*\.bin \(a weight shard\) is missing/);

    const corrupt = await copyBundle('corrupt');
    const s2 = join(
      corrupt,
      'glance',
      (await readdir(join(corrupt, 'glance'))).find((f) => f.endsWith('.bin'))!,
    );
    const bytes = await readFile(s2);
    bytes[10] = bytes[10]! ^ 0xff;
    await writeFile(s2, bytes);
    await expect(loadModel(corrupt)).rejects.toThrow(/glance\/weights-.*\.bin is corrupt/);

    const other = await copyBundle('other');
    const meta = JSON.parse(await readFile(join(other, 'saccade.json'), 'utf8'));
    await writeFile(join(other, 'saccade.json'), JSON.stringify({ ...meta, version: 99 }));
    await expect(loadModel(other)).rejects.toThrow(/bundle version 99 was written by another Saccade/);
    await expect(loadModel(join(dir, 'absent'))).rejects.toThrow(BundleError);
    await writeFile(join(other, 'saccade.json'), '{"format": "saccade-bundle", "ver');
    await expect(loadModel(other)).rejects.toThrow(/not valid JSON/);
  });

  it('a failed save leaves the previous bundle in place and no temporary folder behind', async () => {
    const target = await copyBundle('replace');
    const before = await readFile(join(target, 'saccade.json'), 'utf8');
    const models = net.models();
    const focus = models['focus']!;
    const original = focus.save.bind(focus);
    focus.save = async () => {
      throw new Error('disk full');
    };
    try {
      await expect(saveBundle(net, target, { classes, metrics: { changed: true } })).rejects.toThrow('disk full');
    } finally {
      focus.save = original;
    }
    expect(await readFile(join(target, 'saccade.json'), 'utf8')).toBe(before);
    expect((await readdir(dir)).filter((f) => f.includes('.tmp-') || f.includes('.old-'))).toEqual([]);
    await withModel(target, async (m) => expect(m.classes).toEqual(classes));
  });
});

describe('a bundle reads nothing outside its folder and verifies its weights', () => {
  async function manifest(bundle: string, folder: string): Promise<{ path: string; json: { weightsManifest: { paths: string[] }[] } }> {
    const path = join(bundle, folder, 'model.json');
    return { path, json: JSON.parse(await readFile(path, 'utf8')) };
  }

  it('records every shard with its size and SHA-256 in saccade.json', async () => {
    const meta = JSON.parse(await readFile(join(dir, 'good', 'saccade.json'), 'utf8'));
    const names = Object.keys(meta.weights).sort();
    expect(names).toHaveLength(5);
    for (const name of names) {
      const bytes = await readFile(join(dir, 'good', name));
      expect(meta.weights[name]).toEqual({ size: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') });
    }
  });

  it('refuses a manifest path that leaves the folder, without reading or sizing the file', async () => {
    const b = await copyBundle('escape');
    const { path, json } = await manifest(b, 'focus');
    json.weightsManifest[0]!.paths = ['../../../../../../../../etc/passwd'];
    await writeFile(path, JSON.stringify(json));
    const error = (await loadModel(b).then(
      (m) => (m.dispose(), new Error('loaded')),
      (e: unknown) => e as Error,
    )) as Error;
    expect(error).toBeInstanceOf(BundleError);
    expect(error.message).toMatch(/names a weight shard "\.\.\/.*etc\/passwd" outside focus\/; refused/);
    expect(error.message).not.toMatch(/\d+ bytes/);
  });

  it('refuses a models entry that points at another folder', async () => {
    for (const folder of ['../good/focus', '/tmp', '..', 'a/b']) {
      const b = await copyBundle('models-escape');
      const meta = JSON.parse(await readFile(join(b, 'saccade.json'), 'utf8'));
      meta.models.focus = folder;
      await writeFile(join(b, 'saccade.json'), JSON.stringify(meta));
      await expect(loadModel(b)).rejects.toThrow(/models\.focus must be a folder name inside the bundle/);
    }
  });

  it('refuses a shard or a sub-network folder that is a symlink out of the bundle', async () => {
    const outside = join(dir, 'outside');
    await mkdir(outside, { recursive: true });
    const b = await copyBundle('symlink-shard');
    const shard = (await readdir(join(b, 'glance'))).find((f) => f.endsWith('.bin'))!;
    await rename(join(b, 'glance', shard), join(outside, shard));
    await symlink(join(outside, shard), join(b, 'glance', shard));
    await expect(loadModel(b)).rejects.toThrow(/glance\/model\.json names a weight shard .* outside glance\/; refused/);

    const c = await copyBundle('symlink-folder');
    await rename(join(c, 'focus'), join(outside, 'focus'));
    await symlink(join(outside, 'focus'), join(c, 'focus'));
    await expect(loadModel(c)).rejects.toThrow(/sub-network folder "focus" resolves outside the bundle; refused/);
  });

  it('refuses a renamed shard with changed values (the name carries no hash) before any weight is used', async () => {
    const b = await copyBundle('renamed');
    const { path, json } = await manifest(b, 'focus');
    const shard = json.weightsManifest[0]!.paths[0]!;
    const bytes = await readFile(join(b, 'focus', shard));
    bytes[100] = bytes[100]! ^ 0x40;
    await writeFile(join(b, 'focus', 'w.bin'), bytes);
    await rm(join(b, 'focus', shard));
    json.weightsManifest[0]!.paths = ['w.bin'];
    await writeFile(path, JSON.stringify(json));
    // Renamed alone (saccade.json names the old file): not a recorded shard.
    await expect(loadModel(b)).rejects.toThrow(/focus\/w\.bin is not among the shards saccade.json records/);
    // saccade.json edited to the new name with the old size and hash: the content check catches it.
    const meta = JSON.parse(await readFile(join(b, 'saccade.json'), 'utf8'));
    meta.weights['focus/w.bin'] = meta.weights[`focus/${shard}`];
    delete meta.weights[`focus/${shard}`];
    await writeFile(join(b, 'saccade.json'), JSON.stringify(meta));
    const before = tf.memory().numTensors;
    await expect(loadModel(b)).rejects.toThrow(/focus\/w\.bin is corrupt: its SHA-256 .* does not match saccade.json/);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('loads a bundle without hashes (written before them) with a warning; addBundleHashes adds them', async () => {
    const b = await copyBundle('legacy');
    const meta = JSON.parse(await readFile(join(b, 'saccade.json'), 'utf8'));
    const recorded = meta.weights;
    delete meta.weights;
    await writeFile(join(b, 'saccade.json'), JSON.stringify(meta));
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const videos = [data.video(0)];
      const expected = await withModel(join(dir, 'good'), async (m) => Array.from(m.logitsBatch(videos)));
      await withModel(b, async (m) => expect(Array.from(m.logitsBatch(videos))).toEqual(expected));
      await new Promise((r) => setImmediate(r));
      expect(warnings.some((w) => /records no weight hashes/.test(w) && w.includes('saccade bundle hash'))).toBe(true);
      expect(await addBundleHashes(b)).toMatchObject({ shards: 5, added: true });
      expect(JSON.parse(await readFile(join(b, 'saccade.json'), 'utf8')).weights).toEqual(recorded);
      warnings.length = 0;
      await withModel(b, async (m) => expect(Array.from(m.logitsBatch(videos))).toEqual(expected));
      await new Promise((r) => setImmediate(r));
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('refuses metadata that disagrees with its networks', async () => {
    const cases: [string, (m: Record<string, unknown>) => void, RegExp][] = [
      [
        'classes',
        (m) => (m.classes = ['a', 'b']),
        /the sub-networks do not make a adafocus_v2 network of 2 classes: parts: glance gives 3 class scores, not 2/,
      ],
      ['frames', (m) => (m.frames = 8), /frames 8 disagrees with config.frames 4/],
      ['method', (m) => (m.method = 'uniform'), /method uniform disagrees with config.method adafocus_v2/],
      ['gflops', (m) => (m.gflopsPerStep = [1, 2]), /gflopsPerStep must have 4 entries/],
      ['models', (m) => delete (m.models as Record<string, string>).focus, /saccade\.json: models: lacks focus/],
    ];
    for (const [name, change, message] of cases) {
      const b = await copyBundle(`disagree-${name}`);
      const meta = JSON.parse(await readFile(join(b, 'saccade.json'), 'utf8'));
      change(meta);
      await writeFile(join(b, 'saccade.json'), JSON.stringify(meta));
      await expect(loadModel(b), name).rejects.toThrow(message);
    }
  });
});

describe('classify', () => {
  it('chooses, among several calibrated budgets, the largest one within the budget asked for', async () => {
    const full = net.gflopsPerStep().reduce((a, b) => a + b, 0);
    const targets = [0.4, 0.6, 0.8].map((f) => f * full);
    const exit = calibrateExits(net, evaluate(net, data), targets);
    const to = join(dir, 'budgets');
    await saveBundle(net, to, { classes, exit });
    await withModel(to, async (m) => {
      const video = { data: data.video(3), frames: 4, width: 32, height: 32 };
      for (const [asked, chosen] of [
        [targets[0]!, 0],
        [(targets[0]! + targets[1]!) / 2, 0],
        [targets[1]!, 1],
        [targets[2]! * 1.5, 2],
      ] as const) {
        expect(m.thresholdsFor({ budgetGflops: asked })).toEqual(m.meta.exit!.budgets[chosen]!.thresholds);
        const r = await m.classify(video, { budgetGflops: asked });
        const direct = await m.classify(video, { thresholds: m.meta.exit!.budgets[chosen]!.thresholds });
        expect(r.exitStep).toBe(direct.exitStep);
        expect(r.probability).toBe(direct.probability);
      }
    });
  });

  it('classifyEach keeps every good result and reports each failure in its place', async () => {
    const frames = toyVideo(0, new Rng(2));
    const good = join(dir, 'each-good.mp4');
    await encodeVideo(good, frames, { width: 32, height: 32 });
    const bad = join(dir, 'each-bad.mp4');
    await writeFile(bad, 'not a video');
    await withModel(join(dir, 'good'), async (m) => {
      const before = tf.memory().numTensors;
      const rs = await m.classifyEach([good, bad, join(dir, 'each-missing.mp4'), { data: frames, frames: 4, width: 32, height: 32 }]);
      expect(tf.memory().numTensors).toBe(before);
      expect(rs.map((r) => r.ok)).toEqual([true, false, false, true]);
      const alone = await m.classify(good);
      expect(rs[0]!.ok && rs[0]!.topK).toEqual(alone.topK);
      expect(!rs[1]!.ok && rs[1]!.error.code).toBe('DECODE_FAILED');
      expect(!rs[1]!.ok && rs[1]!.error.message).toContain('each-bad.mp4');
      expect(!rs[2]!.ok && rs[2]!.error).toMatchObject({ code: 'BAD_INPUT', name: 'InputError' });
      // An option that fails every video fails the call.
      await expect(m.classifyEach([good], { budgetGflops: 1 })).rejects.toThrow(/no calibrated exit thresholds/);
    });
  });

  it('says how many frames repeat when a video is shorter than the model', async () => {
    const two = toyVideo(1, new Rng(4)).subarray(0, 2 * 32 * 32 * 3);
    const file = join(dir, 'short.mp4');
    await encodeVideo(file, two, { width: 32, height: 32 });
    await withModel(join(dir, 'good'), async (m) => {
      expect((await m.classify(file)).repeatedFrames).toBe(2);
      expect((await m.classify({ data: two, frames: 2, width: 32, height: 32 })).repeatedFrames).toBe(2);
      expect((await m.classify({ data: toyVideo(1, new Rng(4)), frames: 4, width: 32, height: 32 })).repeatedFrames).toBe(0);
    });
  });
});
