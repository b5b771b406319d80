// What no bad input, crash or second process may cost: the real `saccade` binary in child
// processes on a tiny real dataset (mp4 files decoded by ffmpeg), with kill -9, a second writer,
// hostile file names and a tampered run folder.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BIN, saccade, TINY } from './testing.js';

let dir: string;
let data: string;
let run: string;

/** Every file below a folder with its SHA-256 (names sorted): "the folder is exactly as it was". */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, prefix: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p, `${prefix}${name}/`);
      else out[`${prefix}${name}`] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(root, '');
  return out;
}

const metricTypes = (r: string) =>
  readFileSync(join(r, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; epoch?: number });

beforeAll(async () => {
  if (!existsSync(join(fileURLToPath(new URL('..', import.meta.url)), 'dist', 'cli.js'))) throw new Error('build the CLI first (pnpm build)');
  dir = await mkdtemp(join(tmpdir(), 'saccade-trust-'));
  await writeFile(join(dir, 'tiny.json'), JSON.stringify(TINY));
  data = join(dir, 'data');
  const d = saccade(
    'data',
    'moving-fashion',
    '--out',
    data,
    '--train',
    '12',
    '--val',
    '6',
    '--frames',
    '4',
    '--size',
    '64',
    '--item-size',
    '24',
    '--seed',
    '4',
  );
  if (d.code !== 0) throw new Error(d.stderr);
  run = join(dir, 'run');
  const t = saccade('train', '--data', data, '--out', run, '--config', join(dir, 'tiny.json'));
  if (t.code !== 0) throw new Error(t.stderr);
}, 300_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('classify keeps every good result', () => {
  it('prints the good files, one escaped line for a bad one, and exits 4; --json has one entry per file in order', async () => {
    const good = join(data, 'videos', 'val_00000.mp4');
    const other = join(data, 'videos', 'val_00001.mp4');
    const bad = join(dir, 'bad.avi');
    await writeFile(bad, 'not a video');
    // A name that would forge a result line if printed raw.
    const forged = join(dir, 'x.mp4\nforged.mp4: Sneaker (99.9%), stopped at step 1 of 4\r\u001b[2K');
    await copyFile(other, forged);
    const text = saccade('classify', run, good, bad, forged);
    expect(text.code, text.stderr).toBe(4);
    const lines = text.stdout.trim().split('\n');
    const heads = lines.filter((l) => !l.startsWith('  '));
    expect(heads).toHaveLength(3);
    expect(heads[0]).toMatch(/val_00000\.mp4: \S+ \(\d+\.\d%\), stopped at step \d\/4/);
    expect(heads[1]).toMatch(/bad\.avi: error \S+: /);
    expect(heads[2]).toContain('x.mp4\\nforged.mp4: Sneaker (99.9%), stopped at step 1 of 4\\r\\u{001b}[2K: ');
    expect(text.stdout.includes('\r') || text.stdout.includes('\u001b')).toBe(false);
    expect(lines.some((l) => l.startsWith('forged.mp4'))).toBe(false);

    const json = saccade('classify', run, good, bad, other, '--json');
    expect(json.code).toBe(4);
    const entries = json.json();
    expect(entries.map((e: { file: string; ok: boolean }) => [e.file, e.ok])).toEqual([
      [good, true],
      [bad, false],
      [other, true],
    ]);
    expect(entries[1].error.code).toMatch(/^[A-Z_]+$/);
    expect(entries[1].error.message).toContain('bad.avi');
    expect(entries[0].topK.length).toBeGreaterThan(0);
    // The same results as one file at a time.
    const alone = saccade('classify', run, other, '--json').json();
    expect(entries[2].topK).toEqual(alone[0].topK);

    const allBad = saccade('classify', run, bad, '--json');
    expect(allBad.code).toBe(3);
    expect(allBad.json()[0].ok).toBe(false);
  });
});

describe('--resume changes nothing it should not', () => {
  it('keeps a finished run, its calibrated thresholds and its metrics exactly as they were', () => {
    const c = saccade('calibrate', run, '--data', data, '--json');
    expect(c.code, c.stderr).toBe(0);
    expect(c.json().budgets).toHaveLength(5);
    const before = snapshot(run);
    const r = saccade('train', '--data', data, '--out', run, '--config', join(dir, 'tiny.json'), '--resume', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().steps).toBe(6);
    expect(snapshot(run)).toEqual(before);
    const meta = JSON.parse(readFileSync(join(run, 'model', 'saccade.json'), 'utf8'));
    expect(meta.exit.budgets).toHaveLength(5);
    expect(metricTypes(run).map((l) => l.type)).toEqual(['epoch', 'epoch', 'final']);
  });

  it('refuses a conflicting flag naming every field that differs, and leaves the folder as it was', () => {
    const before = snapshot(run);
    const r = saccade('train', '--data', data, '--out', run, '--config', join(dir, 'tiny.json'), '--resume', '--lr', '0.37', '--seed', '9');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/another config: .*lr .*0\.37 \(now\)/);
    expect(r.stderr).toMatch(/seed 0 \(run\) vs 9 \(now\)/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(snapshot(run)).toEqual(before);
  });

  it('drops epoch and final lines the checkpoint does not hold, and cleans what killed runs left', async () => {
    const copy = join(dir, 'run-copy');
    await mkdir(copy);
    spawnSync('cp', ['-a', `${run}/.`, copy]);
    // A kill after an epoch's line was appended and before its checkpoint, then after the final
    // line and before summary.json: both lines are stale.
    await writeFile(
      join(copy, 'metrics.jsonl'),
      `${readFileSync(join(copy, 'metrics.jsonl'), 'utf8')}${JSON.stringify({ type: 'epoch', epoch: 3 })}\n${JSON.stringify({ type: 'final' })}\n`,
    );
    await rm(join(copy, 'summary.json'));
    await writeFile(join(copy, 'checkpoint.bin.tmp-4242-deadbeef'), 'half a checkpoint');
    await writeFile(join(copy, 'summary.json.tmp-4242-0badf00d'), '');
    await mkdir(join(copy, '.model.tmp-4242-cafebabe'));
    await mkdir(join(copy, '.model.old-4242-cafebabe'));
    const r = saccade('train', '--data', data, '--out', copy, '--config', join(dir, 'tiny.json'), '--resume', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(metricTypes(copy).map((l) => [l.type, l.epoch ?? null])).toEqual([
      ['epoch', 1],
      ['epoch', 2],
      ['final', null],
    ]);
    expect(readdirSync(copy).sort()).toEqual(['checkpoint.bin', 'config.json', 'metrics.jsonl', 'model', 'summary.json']);
    expect(JSON.parse(readFileSync(join(copy, 'summary.json'), 'utf8')).steps).toBe(6);
  });
});

describe('one writer per run folder', () => {
  it('refuses a second train at once naming the holder, and recovers the lock of a dead process', async () => {
    const out = join(dir, 'busy');
    const first = spawn(process.execPath, [BIN, 'train', '--data', data, '--out', out, '--config', join(dir, 'tiny.json'), '--epochs', '200'], {
      env: { ...process.env, SACCADE_BACKEND: 'wasm' },
    });
    let stderr = '';
    first.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          if (/epoch 1: loss/.test(stderr)) {
            clearInterval(timer);
            resolve();
          }
          if (first.exitCode !== null) {
            clearInterval(timer);
            reject(new Error(`first run exited: ${stderr}`));
          }
        }, 100);
      });
      const second = saccade('train', '--data', data, '--out', out, '--config', join(dir, 'tiny.json'), '--epochs', '200', '--resume');
      expect(second.code).toBe(3);
      expect(second.stderr).toContain(`in use by process ${first.pid}`);
      expect(second.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
    }
    // kill -9 left its lock: the next run takes it over (its pid is dead) and goes on.
    expect(existsSync(join(out, 'run.lock'))).toBe(true);
    const resumed = spawn(process.execPath, [BIN, 'train', '--data', data, '--out', out, '--config', join(dir, 'tiny.json'), '--epochs', '200', '--resume'], {
      env: { ...process.env, SACCADE_BACKEND: 'wasm' },
    });
    let err = '';
    const code = await new Promise<number | null>((resolve) => {
      resumed.stderr.on('data', (c: Buffer) => {
        err += c.toString();
        if (/epoch \d+: loss/.test(err) && !resumed.killed) resumed.kill('SIGINT');
      });
      resumed.on('exit', (c) => resolve(c));
    });
    expect(code, err).toBe(130);
    expect(existsSync(join(out, 'run.lock'))).toBe(false);
  });
});

describe('kill -9 never loses a run', () => {
  it('a run killed at several moments resumes to the weights of an uninterrupted run, bit for bit', async () => {
    const config = join(dir, 'tiny4.json');
    await writeFile(config, JSON.stringify({ ...TINY, epochs: 4, checkpointEvery: 1 }));
    const whole = join(dir, 'whole');
    expect(saccade('train', '--data', data, '--out', whole, '--config', config).code).toBe(0);
    const killed = join(dir, 'killed');
    // Kill after the first progress line of each attempt, then resume, until the run finishes.
    for (let attempt = 0; attempt < 8; attempt++) {
      const args = ['train', '--data', data, '--out', killed, '--config', config, ...(attempt > 0 ? ['--resume'] : [])];
      const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, SACCADE_BACKEND: 'wasm' } });
      let err = '';
      // Once the data are loaded: at a different moment of training each time (mid-step,
      // mid-evaluation, mid-checkpoint write, mid-bundle write).
      const delay = 50 + 350 * attempt;
      let timer: NodeJS.Timeout | undefined;
      const code = await new Promise<number | null>((resolve) => {
        child.stderr.on('data', (c: Buffer) => {
          err += c.toString();
          if (!timer && /training and \d+ validation videos/.test(err)) timer = setTimeout(() => child.kill('SIGKILL'), delay);
        });
        child.on('exit', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
      });
      expect(code === 0 || code === null, err).toBe(true);
      if (code === 0) break;
    }
    if (!existsSync(join(killed, 'summary.json'))) expect(saccade('train', '--data', data, '--out', killed, '--config', config, '--resume').code).toBe(0);
    const shards = (r: string) => {
      const meta = JSON.parse(readFileSync(join(r, 'model', 'saccade.json'), 'utf8')) as { weights: Record<string, { sha256: string }> };
      return Object.fromEntries(Object.entries(meta.weights).map(([k, v]) => [k, v.sha256]));
    };
    expect(shards(killed)).toEqual(shards(whole));
    expect(metricTypes(killed).map((l) => l.type)).toEqual(['epoch', 'epoch', 'epoch', 'epoch', 'final']);
  });
});
