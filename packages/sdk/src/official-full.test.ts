// Official AdaFocusV2 checkpoints at the papers' sizes (MobileNetV2 x1.0 glance on 224 px frames,
// ResNet-50 on 96 and 128 px patches, PolicySTN with 1,024 hidden units, a 4,096-wide classifier,
// 200 classes as ActivityNet), against the PyTorch reference made now by
// tools/official/adafocus_v2_reference.py with Debian's python3-torch (which the README's test
// command installs); and the committed small fixture regenerated, to the same reference outputs.
// Under CI a missing torch fails; elsewhere the test is skipped.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { checkOfficialV2 } from '../test/official.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = join(import.meta.dirname, '..', '..', '..', 'tools', 'official', 'adafocus_v2_reference.py');
const TORCH = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

function reference(out: string, args: string[]): void {
  const r = spawnSync(PYTHON, [SCRIPT, '--out', out, ...args], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`the PyTorch reference failed (${r.status}): ${r.stderr}`);
}

describe.skipIf(!TORCH && !process.env['CI'])('official AdaFocusV2 checkpoints at the papers sizes', () => {
  let dir: string;
  beforeAll(async () => {
    if (!TORCH) throw new Error(`${PYTHON} cannot import torch: install Debian's python3-torch (the README's test command does)`);
    dir = await mkdtemp(join(tmpdir(), 'saccade-official-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each([96, 128])(
    'MobileNetV2 at 224 px and ResNet-50 on %i px patches: logits, centres and exits within 1e-4',
    async (patch) => {
      const out = join(dir, `full-${patch}`);
      reference(out, [
        '--frames',
        '3',
        '--frame-size',
        '224',
        '--patch-size',
        String(patch),
        '--glance-width',
        '1',
        '--focus-width',
        '1',
        '--hidden',
        '1024',
        '--classifier-width',
        '4096',
        '--classes',
        '200',
        '--videos',
        '1',
        '--seed',
        String(patch),
      ]);
      const err = await checkOfficialV2(out);
      expect(err.logits).toBeLessThan(1e-4);
      await rm(out, { recursive: true, force: true });
    },
    600_000,
  );

  it('regenerates the committed small fixture to the same reference outputs', async () => {
    const out = join(dir, 'small');
    reference(out, ['--imagenet-classes', '10']);
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
