import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { TensorLeakError, tensorLeakMessage } from '../src/leak.js';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const vitestBin = join(dirname(require.resolve('vitest/package.json')), 'vitest.mjs');

describe('the tensor-leak guard', () => {
  it('fails exactly the test that leaves a tensor behind', () => {
    const run = spawnSync(process.execPath, [vitestBin, 'run', '--root', join(here, 'fixture')], {
      encoding: 'utf8',
      env: { ...process.env, CI: '1', NO_COLOR: '1', FORCE_COLOR: '0' },
      timeout: 120_000,
    });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.status, output).toBe(1);
    expect(output).toMatch(/TensorLeakError: test "leaks one tensor" left 1 tensor\(s\) behind/);
    expect(output).toMatch(/1 failed \| 1 passed/);
  });

  it('explains a leak in both directions', () => {
    expect(tensorLeakMessage('a', 3, 5)).toMatch(/left 2 tensor\(s\) behind \(tf.memory\(\).numTensors 3 -> 5\)/);
    expect(tensorLeakMessage('a', 5, 4)).toMatch(/disposed 1 tensor\(s\) it did not create/);
    expect(new TensorLeakError('x').name).toBe('TensorLeakError');
  });
});
