// Official AdaFocus V1 and V2 checkpoints at the papers' sizes (MobileNetV2 x1.0 glance on 224 px
// frames, ResNet-50 on 96 and 128 px patches, 200 classes as ActivityNet; V2: PolicySTN with 1,024
// hidden units and a 4,096-wide classifier; V1: the PPO policy and the GRU classifier at 1,024, a
// 7 x 7 grid; V1 Something-Something: TSM backbones on 8 glance and 12 focus frames, 174 classes,
// the policy at 1,024, continuous and a 5 x 5 grid; Uni-AdaFocus: 16 glance frames of 48, 16 focus
// frames, the official spatial (128) and temporal (64) policies, boxes of 96 to 224 px, a 4,096-wide
// classifier), against the PyTorch references made now by
// tools/official/{adafocus_v1,adafocus_v2,adafocus_v1_tsm,uni_adafocus}_reference.py
// with Debian's python3-torch (which the README's test command installs); and the committed small
// fixtures regenerated, to the same reference outputs. Under CI a missing torch fails; elsewhere the
// test is skipped.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { checkOfficialUni, checkOfficialV1, checkOfficialV1Tsm, checkOfficialV2 } from '../test/official.js';

const PYTHON = '/usr/bin/python3';
const TOOLS = join(import.meta.dirname, '..', '..', '..', 'tools', 'official');
const TORCH = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

function reference(version: 1 | 2 | 'tsm' | 'uni', out: string, args: string[]): void {
  const script = join(
    TOOLS,
    version === 'tsm' ? 'adafocus_v1_tsm_reference.py' : version === 'uni' ? 'uni_adafocus_reference.py' : `adafocus_v${version}_reference.py`,
  );
  const r = spawnSync(PYTHON, [script, '--out', out, ...args], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`the PyTorch reference failed (${r.status}): ${r.stderr}`);
}

/** The papers' sizes: MobileNetV2 x1.0 on 224 px frames, ResNet-50 on `patch` px patches, 1,024 policy units, 200 classes, 3 frames. */
const paperSizes = (patch: number, classifierWidth: number, videos: number) =>
  `--frames 3 --frame-size 224 --patch-size ${patch} --glance-width 1 --focus-width 1 --hidden 1024 --classifier-width ${classifierWidth} --classes 200 --videos ${videos} --seed ${patch}`.split(
    ' ',
  );

describe.skipIf(!TORCH && !process.env['CI'])('official AdaFocus V1 and V2 checkpoints at the papers sizes', () => {
  let dir: string;
  beforeAll(async () => {
    if (!TORCH) throw new Error(`${PYTHON} cannot import torch: install Debian's python3-torch (the README's test command does)`);
    dir = await mkdtemp(join(tmpdir(), 'saccade-official-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each([96, 128])(
    'V2: MobileNetV2 at 224 px and ResNet-50 on %i px patches: logits, centres and exits within 1e-4',
    async (patch) => {
      const out = join(dir, `full-${patch}`);
      reference(2, out, paperSizes(patch, 4096, 1));
      const err = await checkOfficialV2(out);
      expect(err.logits).toBeLessThan(1e-4);
      await rm(out, { recursive: true, force: true });
    },
    600_000,
  );

  it.each([96, 128])(
    'V1: MobileNetV2 at 224 px and ResNet-50 on %i px patches: logits, corners and exits within 1e-4',
    async (patch) => {
      const out = join(dir, `full-v1-${patch}`);
      reference(1, out, paperSizes(patch, 1024, 2));
      const err = await checkOfficialV1(out);
      expect(err.logits).toBeLessThan(1e-4);
      await rm(out, { recursive: true, force: true });
    },
    600_000,
  );

  it.each([
    [96, 0],
    [128, 5],
  ])(
    'V1 Something-Something: TSM MobileNetV2 at 224 px on 8 frames, TSM ResNet-50 on 12 patches of %i px, grid %i (0: continuous): logits and positions within 1e-4',
    async (patch, grid) => {
      const out = join(dir, `full-tsm-${patch}`);
      const args = `--frames 12 --glance-frames 8 --frame-size 224 --glance-size 224 --patch-size ${patch} --grid ${grid} --glance-width 1 --focus-width 1 --hidden 1024 --classes 174 --videos 2 --seed ${patch}`;
      reference('tsm', out, args.split(' '));
      const err = await checkOfficialV1Tsm(out);
      console.log(
        `V1 Something-Something at ${patch} px, grid ${grid}: max relative error logits ${err.logits.toExponential(1)}, positions ${err.centres.toExponential(1)}, glance ${err.glance.toExponential(1)}`,
      );
      expect(err.logits).toBeLessThan(1e-4);
      await rm(out, { recursive: true, force: true });
    },
    600_000,
  );

  it('Uni-AdaFocus: MobileNetV2 at 224 px on 16 of 48 frames, ResNet-50 on 16 boxes of 96-224 px resampled to 128: exits, centres, sizes, frames within 1e-4', async () => {
    const out = join(dir, 'full-uni');
    const args =
      '--frames 48 --glance-frames 16 --focus-frames 16 --frame-size 224 --patch-size 128 --side-min 96 --side-max 224 --glance-width 1 --focus-width 1 --spatial-hidden 128 --temporal-hidden 64 --classifier-width 4096 --classes 200 --videos 2 --seed 7';
    reference('uni', out, args.split(' '));
    const err = await checkOfficialUni(out);
    console.log(
      `Uni-AdaFocus at the paper's sizes: max relative error logits ${err.logits.toExponential(1)}, centres ${err.centres.toExponential(1)}, sizes ${err.sizes.toExponential(1)}, temporal weights ${err.weights.toExponential(1)}, glance ${err.glance.toExponential(1)}`,
    );
    expect(err.logits).toBeLessThan(1e-4);
    await rm(out, { recursive: true, force: true });
  }, 600_000);

  it('regenerates the committed small Uni-AdaFocus fixture to the same reference outputs', async () => {
    const out = join(dir, 'small-uni');
    reference('uni', out, ['--imagenet-classes', '10']);
    const committed = JSON.parse(await readFile(join(import.meta.dirname, '..', 'test', 'fixtures', 'official-uni', 'reference.json'), 'utf8'));
    const now = JSON.parse(await readFile(join(out, 'reference.json'), 'utf8'));
    expect([now.glanceIndices, now.focusIndices]).toEqual([committed.glanceIndices, committed.focusIndices]);
    for (const k of ['logits', 'actions', 'glanceLogits', 'focusLogits']) {
      const a = (now[k] as number[][][]).flat(2);
      const b = (committed[k] as number[][][]).flat(2);
      a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(b[i]!))));
    }
    await checkOfficialUni(out);
  });

  it('regenerates the committed small V1 Something-Something fixture to the same reference outputs', async () => {
    const out = join(dir, 'small-tsm');
    reference('tsm', out, []);
    const committed = JSON.parse(await readFile(join(import.meta.dirname, '..', 'test', 'fixtures', 'official-v1-tsm', 'reference.json'), 'utf8'));
    const now = JSON.parse(await readFile(join(out, 'reference.json'), 'utf8'));
    expect(now.centres).toEqual(committed.centres);
    for (const k of ['logits', 'actions', 'glanceLogits']) {
      const a = (now[k] as number[][][]).flat(2);
      const b = (committed[k] as number[][][]).flat(2);
      a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(b[i]!))));
    }
    await checkOfficialV1Tsm(out);
  });

  it('regenerates the committed small V1 fixture to the same reference outputs', async () => {
    const out = join(dir, 'small-v1');
    reference(1, out, []);
    const committed = JSON.parse(await readFile(join(import.meta.dirname, '..', 'test', 'fixtures', 'official-v1', 'reference.json'), 'utf8'));
    const now = JSON.parse(await readFile(join(out, 'reference.json'), 'utf8'));
    expect(now.cells).toEqual(committed.cells);
    for (const k of ['logits', 'centres', 'glanceLogits', 'focusLogits']) {
      const a = (now[k] as number[][][]).flat(2);
      const b = (committed[k] as number[][][]).flat(2);
      a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(b[i]!))));
    }
    await checkOfficialV1(out);
  });

  it('regenerates the committed small fixture to the same reference outputs', async () => {
    const out = join(dir, 'small');
    reference(2, out, ['--imagenet-classes', '10']);
    const committed = JSON.parse(await readFile(join(import.meta.dirname, '..', 'test', 'fixtures', 'official-v2', 'reference.json'), 'utf8'));
    const now = JSON.parse(await readFile(join(out, 'reference.json'), 'utf8'));
    for (const k of ['logits', 'actions', 'glanceLogits', 'focusLogits']) {
      const a = (now[k] as number[][][]).flat(2);
      const b = (committed[k] as number[][][]).flat(2);
      a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(b[i]!))));
    }
    await checkOfficialV2(out);
  });
});
