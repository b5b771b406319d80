// The queue against a real Redis (Debian's redis-server on a free port, test/redis-server.ts) with
// workers in this process: every video classified once, re-submits add nothing, a transient error
// is retried, a permanent one fails once with its typed error kept, paths outside the roots are
// refused before anything reads them, and results survive a Redis restart.
import { readFile } from 'node:fs/promises';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startRedis, type TestRedis } from './testing.js';
import { connectionOf } from './redis.js';
import { queueStatus } from './status.js';
import { submitVideos, waitForJobs } from './submit.js';
import { startWorker } from './worker.js';

class CorruptVideo extends Error {
  readonly code = 'BAD_VIDEO';
  override name = 'CorruptVideo';
}

let redis: TestRedis;
let dir: string;
const files: string[] = [];
beforeAll(async () => {
  redis = await startRedis();
  dir = await mkdtemp(join(tmpdir(), 'saccade-queue-'));
  await mkdir(join(dir, 'videos'));
  for (let i = 0; i < 40; i++) {
    const f = join(dir, 'videos', `v${i}.mp4`);
    await writeFile(f, i === 7 ? 'corrupt' : `video ${i}`);
    files.push(f);
  }
  await writeFile(join(dir, 'secret.txt'), 'not for workers');
});
afterAll(async () => {
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A stand-in classifier that reads the file: 'corrupt' is a permanent error; each file's first try fails transiently when `flaky`. */
function handler(calls: Map<string, number>, flaky: boolean) {
  return async (path: string) => {
    const n = (calls.get(path) ?? 0) + 1;
    calls.set(path, n);
    const text = await readFile(path, 'utf8');
    if (text === 'corrupt') throw new CorruptVideo(`${path}: no video stream`);
    if (flaky && n === 1) throw new Error('ECONNRESET (a transient storage error)');
    return { label: text, exitStep: 3 };
  };
}

describe('@saccade/queue on a real Redis', () => {
  it('three workers classify every video once; the corrupt one fails once with its typed error; a re-submit adds nothing', async () => {
    const q = { url: redis.url };
    const calls = new Map<string, number>();
    const workers = await Promise.all(
      [0, 1, 2].map((i) =>
        startWorker({
          redis: q,
          queue: 'once',
          roots: [join(dir, 'videos')],
          concurrency: 2,
          name: `w${i}`,
          handle: handler(calls, true),
          permanent: (e) => e instanceof CorruptVideo,
        }),
      ),
    );
    try {
      const progress: number[] = [];
      const sub = await submitVideos([...files, join(dir, 'missing.mp4')], {
        redis: q,
        queue: 'once',
        model: 'm',
        backoffMs: 20,
        onProgress: (d) => progress.push(d),
      });
      expect(sub.jobs).toHaveLength(40);
      expect(sub.skipped).toEqual([{ file: join(dir, 'missing.mp4'), error: expect.stringMatching(/ENOENT/) }]);
      expect(progress.at(-1)).toBe(41);
      const results = await waitForJobs(sub.jobs, { redis: q, queue: 'once' });
      expect(results).toHaveLength(40);
      const failed = results.filter((r) => !r.ok);
      expect(failed).toEqual([
        {
          file: files[7],
          jobId: expect.any(String),
          ok: false,
          error: { code: 'BAD_VIDEO', name: 'CorruptVideo', message: expect.stringMatching(/no video stream/) },
        },
      ]);
      for (const r of results.filter((x) => x.ok)) expect(r).toMatchObject({ ok: true, result: { label: expect.stringMatching(/^video \d+$/), exitStep: 3 } });
      // Each good video: one transient failure, one success (retried with backoff); the corrupt one: tried once.
      expect(calls.get(files[7]!)).toBe(1);
      expect(files.filter((f, i) => i !== 7).every((f) => calls.get(f) === 2)).toBe(true);
      // The same corpus again: the same ids, nothing new to do.
      const again = await submitVideos(files, { redis: q, queue: 'once', model: 'm' });
      expect(again.jobs.map((j) => j.jobId)).toEqual(sub.jobs.map((j) => j.jobId));
      const second = await waitForJobs(again.jobs, { redis: q, queue: 'once' });
      expect(second.filter((r) => r.ok)).toHaveLength(39);
      expect([...calls.values()].reduce((a, b) => a + b, 0)).toBe(39 * 2 + 1);
      const status = await queueStatus({ redis: q, queue: 'once' });
      expect(status).toMatchObject({ waiting: 0, active: 0, completed: 39, failed: 1 });
      expect(status.workers.map((w) => w.name)).toEqual(['w0', 'w1', 'w2']);
      expect(status.workers.reduce((a, w) => a + w.videosPerSecond * status.windowSeconds, 0)).toBe(39);
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
  });

  it('refuses a path outside the roots and a payload that is not a video job, before anything reads them', async () => {
    const q = { url: redis.url };
    const calls = new Map<string, number>();
    const worker = await startWorker({ redis: q, queue: 'roots', roots: [join(dir, 'videos')], handle: handler(calls, false) });
    const queue = new Queue('roots', { connection: connectionOf(q) });
    try {
      const sub = await submitVideos([join(dir, 'secret.txt')], { redis: q, queue: 'roots', model: 'm' });
      await queue.add('classify', { v: 1, path: '/etc/passwd', file: 'x', model: 'm', extra: 'sh -c id' }, { jobId: 'evil-1', attempts: 3 });
      const results = await waitForJobs([...sub.jobs, { file: 'x', jobId: 'evil-1' }], { redis: q, queue: 'roots' });
      expect(results.map((r) => (r.ok ? 'ok' : r.error.code)).sort()).toEqual(['BAD_JOB', 'OUTSIDE_ROOTS']);
      expect(calls.size).toBe(0);
      // Failed once each: never retried.
      expect((await queue.getJob('evil-1'))!.attemptsMade).toBe(1);
    } finally {
      await queue.close();
      await worker.close();
    }
  });

  it('jobs and results survive a Redis restart (append-only file); waiting goes on across it', async () => {
    const q = { url: redis.url };
    const sub = await submitVideos(files.slice(10, 20), { redis: q, queue: 'restart', model: 'm' });
    await redis.restart();
    const worker = await startWorker({ redis: q, queue: 'restart', roots: [join(dir, 'videos')], handle: handler(new Map(), false) });
    try {
      const results = await waitForJobs(sub.jobs, { redis: q, queue: 'restart' });
      expect(results.filter((r) => r.ok)).toHaveLength(10);
      await redis.restart();
      const again = await waitForJobs(sub.jobs, { redis: q, queue: 'restart' });
      expect(again.map((r) => r.ok)).toEqual(new Array(10).fill(true));
    } finally {
      await worker.close();
    }
  });

  it('a job removed from the queue while waited for is reported, not waited for forever', async () => {
    const q = { url: redis.url };
    const sub = await submitVideos(files.slice(30, 33), { redis: q, queue: 'removed', model: 'm' });
    const queue = new Queue('removed', { connection: connectionOf(q) });
    try {
      await queue.obliterate({ force: true });
    } finally {
      await queue.close();
    }
    const results = await waitForJobs(sub.jobs, { redis: q, queue: 'removed' });
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['JOB_MISSING', 'JOB_MISSING', 'JOB_MISSING']);
  });

  it('over TLS (rediss://) with the server CA; without it the connection is refused with a clear error', async () => {
    const secure = await startRedis({ tls: true });
    try {
      const q = { url: secure.url, tls: { ca: await readFile(secure.ca!) } };
      const worker = await startWorker({ redis: q, queue: 'tls', roots: [join(dir, 'videos')], handle: handler(new Map(), false) });
      try {
        const sub = await submitVideos(files.slice(20, 25), { redis: q, queue: 'tls', model: 'm' });
        const results = await waitForJobs(sub.jobs, { redis: q, queue: 'tls' });
        expect(results.map((r) => r.ok)).toEqual([true, true, true, true, true]);
      } finally {
        await worker.close();
      }
      // A client that does not trust the server's CA: QueueUnavailableError, no job added.
      await expect(submitVideos(files.slice(0, 1), { redis: { url: secure.url }, queue: 'tls', model: 'm', timeoutMs: 3000 })).rejects.toThrow(
        /Redis at rediss:\/\/127\.0\.0\.1:\d+ is unavailable/,
      );
    } finally {
      await secure.stop();
    }
  });
});
