// `saccade worker` and `saccade submit` against a real Redis (Debian's redis-server, started by
// @saccade/queue/testing) with two real worker processes: every video classified once into the
// JSONL, a corrupt one failed once with its typed error, a re-submit adds nothing, and SIGTERM
// stops a worker cleanly.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { openQueue } from '@saccade/queue';
import { startRedis, type TestRedis } from '@saccade/queue/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BIN, saccade } from './testing.js';

/** `saccade data`: `val` validation videos (and one training video) of 4 frames of 64 px. */
const tinyVideos = (out: string, val: number, seed: number) =>
  saccade('data', 'moving-fashion', '--out', out, ...`--train 1 --val ${val} --frames 4 --size 64 --item-size 24 --seed ${seed} --json`.split(' '));

let dir: string;
let redis: TestRedis;
const FIXTURE = join(import.meta.dirname, '..', '..', '..', 'packages', 'sdk', 'test', 'fixtures', 'official-v2', 'checkpoint.pth.tar');

beforeAll(async () => {
  redis = await startRedis();
  dir = await mkdtemp(join(tmpdir(), 'saccade-queue-cli-'));
  const data = tinyVideos(join(dir, 'data'), 12, 0);
  expect(data.code, data.stderr).toBe(0);
  const imported = saccade('import', FIXTURE, '--out', join(dir, 'model'), '--patch-size', '32', '--frame-size', '64', '--json');
  expect(imported.code, imported.stderr).toBe(0);
  await writeFile(join(dir, 'data', 'videos', 'corrupt.mp4'), 'not a video');
  // The corpus of the reliability tests: 210 small videos.
  const corpus = tinyVideos(join(dir, 'corpus'), 210, 5);
  expect(corpus.code, corpus.stderr).toBe(0);
}, 600_000);

/** `saccade submit` in a child process (async, so that the test can kill workers meanwhile). */
function submitAsync(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const p = spawn(process.execPath, [BIN, 'submit', join(dir, 'model'), ...args, '--redis', redis.url], { env: { ...process.env, SACCADE_BACKEND: 'wasm' } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.once('exit', (code) => resolveRun({ code, stdout, stderr }));
  });
}

const resultLines = async (file: string) =>
  (await readFile(file, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { file: string; ok: boolean });
afterAll(async () => {
  await redis?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function worker(name: string, ...extra: string[]): { proc: ChildProcess; log: () => string; exited: Promise<number | null> } {
  let log = '';
  const proc = spawn(process.execPath, [BIN, 'worker', join(dir, 'model'), '--redis', redis.url, '--root', dir, '--name', name, ...extra], {
    env: { ...process.env, SACCADE_BACKEND: 'wasm' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  return { proc, log: () => log, exited: new Promise((r) => proc.once('exit', (code) => r(code))) };
}

async function until(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('saccade worker / submit / queue status', () => {
  it('two worker processes classify a folder once; the corrupt video fails with its error; SIGTERM stops them', async () => {
    const workers = [worker('a'), worker('b')];
    try {
      for (const w of workers) await until(() => w.log().includes('on queue saccade-'), `worker ready: ${w.log()}`);
      const out = join(dir, 'results.jsonl');
      const sub = saccade('submit', join(dir, 'model'), '--dir', join(dir, 'data', 'videos'), '--redis', redis.url, '--wait', '--out', out, '--json');
      // One video failed: exit 4 (partial), the others' results are written.
      expect(sub.code, sub.stderr).toBe(4);
      expect(sub.json()).toMatchObject({ submitted: 14, skipped: [], results: { ok: 13, failed: 1 } });
      expect(sub.stderr).toMatch(/\[submit\] 14\/14 submitted[\s\S]*\[submit\] 14\/14 classified/);
      const lines = (await readFile(out, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { file: string; ok: boolean; label?: string; exitStep?: number; patches?: unknown[]; error?: { code: string } });
      expect(lines).toHaveLength(14);
      expect(new Set(lines.map((l) => l.file)).size).toBe(14);
      const bad = lines.filter((l) => !l.ok);
      expect(bad).toHaveLength(1);
      expect(bad[0]!.file).toMatch(/corrupt\.mp4$/);
      expect(bad[0]!.error!.code).toMatch(/^(BAD_VIDEO_FILE|DECODE_FAILED|EMPTY_VIDEO)$/);
      for (const l of lines.filter((x) => x.ok)) expect(l.patches).toHaveLength(l.exitStep!);
      // A second submit of the same folder: the same jobs, already done.
      const again = saccade(
        'submit',
        join(dir, 'model'),
        '--dir',
        join(dir, 'data', 'videos'),
        '--redis',
        redis.url,
        '--wait',
        '--out',
        join(dir, 'again.jsonl'),
        '--json',
      );
      expect(again.json()).toMatchObject({ results: { ok: 13, failed: 1 } });
      const status = saccade('queue', 'status', join(dir, 'model'), '--redis', redis.url, '--json');
      expect(status.code, status.stderr).toBe(0);
      expect(status.json()).toMatchObject({ waiting: 0, active: 0, completed: 13, failed: 1 });
      expect(status.json().workers.map((w: { name: string }) => w.name)).toEqual(['a', 'b']);
      // A video the workers' root does not hold: submitted, then refused by the worker, unread.
      await copyFile(join(dir, 'data', 'videos', 'val_00000.mp4'), join(tmpdir(), `saccade-elsewhere-${process.pid}.mp4`));
      const outside = saccade('submit', join(dir, 'model'), join(tmpdir(), `saccade-elsewhere-${process.pid}.mp4`), '--redis', redis.url, '--wait', '--json');
      expect(outside.code).toBe(4);
      expect(outside.stdout).toMatch(/"code":"OUTSIDE_ROOTS"/);
    } finally {
      for (const w of workers) w.proc.kill('SIGTERM');
    }
    for (const w of workers) {
      expect(await w.exited).toBe(0);
      expect(w.log()).toMatch(/SIGTERM, finishing the job in hand[\s\S]*stopped after \d+ videos/);
    }
    expect(existsSync(join(dir, 'results.jsonl'))).toBe(true);
  }, 300_000);

  it('a worker on a machine without ffmpeg refuses to start (exit 3) instead of failing good videos', async () => {
    const w = spawn(process.execPath, [BIN, 'worker', join(dir, 'model'), '--redis', redis.url, '--root', dir], {
      env: { ...process.env, FFMPEG_PATH: join(dir, 'no-such-ffmpeg') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    w.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise((r) => w.once('exit', r));
    expect(code).toBe(3);
    expect(err).toMatch(/no-such-ffmpeg/);
  }, 120_000);

  it('URL jobs: a worker with --allow-url classifies videos served over http as it does their files; a URL outside the prefix is refused unread', async () => {
    const served: string[] = [];
    const server = createServer((req, res) => {
      const name = new URL(req.url!, 'http://x').pathname;
      if (req.method === 'GET') served.push(name);
      // Everything is served, /other too: only the worker's prefix keeps it from /other.
      const m = /^\/(?:videos|other)\/([\w.]+\.mp4)$/.exec(name);
      if (!m) return void res.writeHead(404).end();
      readFile(join(dir, 'data', 'videos', m[1]!)).then(
        (b) => res.writeHead(200, { 'content-length': b.length }).end(req.method === 'HEAD' ? undefined : b),
        () => res.writeHead(404).end(),
      );
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const w = worker('url', '--allow-url', `${base}/videos/`, '--engine', 'wasm');
    try {
      await until(() => w.log().includes('on queue saccade-'), `worker ready: ${w.log()}`);
      expect(w.log()).toMatch(/engine wasm \(forced by initBackend\(\) argument\)/);
      const names = ['val_00000.mp4', 'val_00003.mp4', 'corrupt.mp4'];
      // submit in a child process of its own: this process serves the videos meanwhile.
      const out = join(dir, 'urls.jsonl');
      const sub = await submitAsync(
        ...names.map((n) => `${base}/videos/${n}`),
        `${base}/other/val_00001.mp4`,
        `${base}/videos/missing.mp4`,
        '--wait',
        '--out',
        out,
        '--json',
      );
      expect(sub.code, sub.stdout + sub.stderr).toBe(4);
      const lines = (await resultLines(out)) as { file: string; ok: boolean; label?: string; exitStep?: number; patches?: unknown; error?: { code: string } }[];
      expect(lines).toHaveLength(5);
      const by = new Map(lines.map((l) => [l.file, l]));
      // The same results as the files classified by path in the first test.
      const byPath = new Map((await resultLines(join(dir, 'results.jsonl'))).map((l) => [l.file.split('/').pop(), l as (typeof lines)[number]]));
      for (const n of names.slice(0, 2)) {
        const { file: _f, timingsMs: _t, ...fromUrl } = by.get(`${base}/videos/${n}`)! as Record<string, unknown>;
        const { file: _g, timingsMs: _u, ...fromPath } = byPath.get(n)! as Record<string, unknown>;
        expect(fromUrl).toEqual(fromPath);
      }
      expect(by.get(`${base}/videos/corrupt.mp4`)!.error!.code).toMatch(/^(BAD_VIDEO_FILE|DECODE_FAILED|EMPTY_VIDEO)$/);
      // Refused by the worker without a fetch; a missing URL is skipped at submit (its HEAD is a 404).
      expect(by.get(`${base}/other/val_00001.mp4`)).toMatchObject({ ok: false, error: { code: 'URL_NOT_ALLOWED' } });
      expect(by.get(`${base}/videos/missing.mp4`)).toMatchObject({ ok: false, error: { code: 'UNREADABLE' } });
      expect(served.filter((p) => p.startsWith('/other'))).toEqual([]);
    } finally {
      w.proc.kill('SIGTERM');
      server.close();
    }
    expect(await w.exited).toBe(0);
    // An engine that cannot load here is an error naming its package, not a fallback.
    const native = spawn(process.execPath, [BIN, 'worker', join(dir, 'model'), '--redis', redis.url, '--root', dir, '--engine', 'node'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    native.stderr.on('data', (d: Buffer) => (err += d.toString()));
    expect(await new Promise((r) => native.once('exit', r))).toBe(3);
    expect(err).toMatch(/@tensorflow\/tfjs-node/);
  }, 300_000);

  it('three workers, 210 videos, one killed with SIGKILL mid-job twice: every video classified, once, the dead leases recovered', async () => {
    const workers = [worker('k1', '--lock-ms', '2000'), worker('k2', '--lock-ms', '2000'), worker('k3', '--lock-ms', '2000')];
    try {
      for (const w of workers) await until(() => w.log().includes('on queue saccade-'), 'workers ready');
      const out = join(dir, 'corpus.jsonl');
      const run = submitAsync('--dir', join(dir, 'corpus', 'videos'), '--wait', '--out', out, '--json');
      for (const round of [0, 1]) {
        await new Promise((r) => setTimeout(r, 2500));
        const victim = workers[round]!;
        victim.proc.kill('SIGKILL');
        expect(await victim.exited).toBe(null);
        workers.push(worker(`k${4 + round}`, '--lock-ms', '2000'));
      }
      const r = await run;
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ submitted: 211, results: { ok: 211, failed: 0 } });
      const lines = await resultLines(out);
      expect(lines).toHaveLength(211);
      expect(new Set(lines.map((l) => l.file)).size).toBe(211);
      expect(lines.every((l) => l.ok)).toBe(true);
      // The jobs the killed workers held came back through BullMQ's stalled-job check.
      const queue = await openQueue({ url: redis.url }, JSON.parse(r.stdout).queue);
      try {
        const done = await queue.getJobs(['completed'], 0, -1);
        expect(done.filter((j) => (j.stalledCounter ?? 0) > 0).length).toBeGreaterThanOrEqual(1);
      } finally {
        await queue.close();
      }
    } finally {
      for (const w of workers) if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.exited));
    }
  }, 600_000);

  it('Redis restarted mid-run: the run completes (or says why), and a re-submit finishes without repeating done videos', async () => {
    const workers = [worker('r1'), worker('r2')];
    try {
      for (const w of workers) await until(() => w.log().includes('on queue saccade-'), 'workers ready');
      const list = join(dir, 'list.txt');
      const files = (await resultLines(join(dir, 'corpus.jsonl'))).map((l) => l.file).slice(0, 120);
      await writeFile(list, files.join('\n'));
      const out = join(dir, 'restart.jsonl');
      // Forget what the previous test classified: this run must do them.
      const name = (saccade('queue', 'status', join(dir, 'model'), '--redis', redis.url, '--json').json() as { queue: string }).queue;
      const q = await openQueue({ url: redis.url }, name);
      await q.obliterate({ force: true });
      await q.close();
      const run = submitAsync('--list', list, '--wait', '--out', out, '--json');
      await new Promise((r) => setTimeout(r, 3000));
      await redis.restart();
      const r = await run;
      if (r.code === 0) expect(JSON.parse(r.stdout)).toMatchObject({ results: { ok: 120, failed: 0 } });
      else expect(r.stderr).toMatch(/error: .*Redis/);
      // Re-submit: everything done, and nothing done is classified again (its completion time stays).
      const finished = async () => {
        const queue = await openQueue({ url: redis.url }, name);
        try {
          return new Map((await queue.getJobs(['completed'], 0, -1)).map((j) => [j.id, j.finishedOn]));
        } finally {
          await queue.close();
        }
      };
      const before = await finished();
      const again = await submitAsync('--list', list, '--wait', '--out', out, '--json');
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ results: { ok: 120, failed: 0 } });
      expect(await resultLines(out)).toHaveLength(120);
      const after = await finished();
      for (const [id, at] of before) expect(after.get(id)).toBe(at);
    } finally {
      for (const w of workers) w.proc.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.exited));
    }
  }, 600_000);
});
