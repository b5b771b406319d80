/**
 * Submitting videos and collecting their results. Each video becomes one job whose id is derived
 * from the video and the model (`videoJobId`): BullMQ adds nothing for an id it already holds, so
 * a corpus submitted twice is classified once, and a re-submit after a failure only adds what is
 * missing. Jobs are kept after they finish: their results live in Redis until the queue is cleaned
(BullMQ's `Queue.clean` or `obliterate`).
 */
import { resolve } from 'node:path';

import { Queue, QueueEvents } from 'bullmq';

import { QueueOptionError, QueueUnavailableError } from './errors.js';
import { videoJobId, type VideoJob } from './job.js';
import { isVideoUrl, parseVideoUrl, urlJobId } from './url.js';
import { connectionOf, type RedisOptions } from './redis.js';
import { DEFAULT_QUEUE, parseFailure, type FailureReason } from './worker.js';

export interface SubmitOptions {
  redis: RedisOptions;
  queue?: string;
  /** The model's id (the same files for another model are other jobs). */
  model: string;
  /** Tries per job for transient errors (default 3), with exponential backoff from `backoffMs` (default 1000). */
  attempts?: number;
  backoffMs?: number;
  /** After each batch is added: (done, total). */
  onProgress?: (done: number, total: number) => void;
  /** How long to wait for Redis to answer before a QueueUnavailableError (default 10 s). */
  timeoutMs?: number;
}

export interface Submitted {
  file: string;
  jobId: string;
}

export interface SubmitResult {
  jobs: Submitted[];
  /** Files that could not be submitted (missing, unreadable), with why; the others were. */
  skipped: { file: string; error: string }[];
}

/** Open a BullMQ Queue; a QueueUnavailableError when Redis does not answer within `timeoutMs`. */
export async function openQueue(redis: RedisOptions, name = DEFAULT_QUEUE, timeoutMs = 10_000): Promise<Queue> {
  const queue = new Queue(name, { connection: { ...connectionOf(redis), maxRetriesPerRequest: 1, connectTimeout: timeoutMs } });
  queue.on('error', () => {});
  try {
    await Promise.race([
      queue.waitUntilReady(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs).unref()),
    ]);
  } catch (error) {
    await queue.close().catch(() => {});
    throw new QueueUnavailableError(`Redis at ${redis.url.replace(/\/\/[^@/]*@/, '//***@')} is unavailable: ${(error as Error).message}`);
  }
  return queue;
}

type Made = { file: string; jobId: string; data: VideoJob } | { file: string; error: string };

/**
 * Add a job per file or http(s) URL (ids from the video and the model); files that cannot be read and
 * URLs whose server does not answer are skipped with their error.
 */
export async function submitVideos(files: readonly string[], o: SubmitOptions): Promise<SubmitResult> {
  const attempts = o.attempts ?? 3;
  if (!Number.isInteger(attempts) || attempts < 1) throw new QueueOptionError('attempts', `must be a positive integer, got ${attempts}`);
  const queue = await openQueue(o.redis, o.queue, o.timeoutMs);
  const jobs: Submitted[] = [];
  const skipped: { file: string; error: string }[] = [];
  try {
    const batch = 100;
    for (let at = 0; at < files.length; at += batch) {
      const part = files.slice(at, at + batch);
      const entries: { name: string; data: VideoJob; opts: object }[] = [];
      const made = await Promise.all(
        part.map(async (file): Promise<Made> => {
          try {
            // A URL's id asks its server (HEAD) what identifies the content; a path's reads the file's size and mtime.
            if (isVideoUrl(file))
              return { file, jobId: await urlJobId(file, o.model), data: { v: 1 as const, url: parseVideoUrl(file).href, file, model: o.model } };
            const path = resolve(file);
            return { file, jobId: await videoJobId(path, o.model), data: { v: 1 as const, path, file, model: o.model } };
          } catch (error) {
            return { file, error: (error as Error).message };
          }
        }),
      );
      for (const m of made) {
        if ('error' in m) {
          skipped.push({ file: m.file, error: m.error });
          continue;
        }
        entries.push({
          name: 'classify',
          data: m.data,
          opts: { jobId: m.jobId, attempts, backoff: { type: 'exponential', delay: o.backoffMs ?? 1000 }, removeOnComplete: false, removeOnFail: false },
        });
        jobs.push({ file: m.file, jobId: m.jobId });
      }
      await queue.addBulk(entries);
      o.onProgress?.(Math.min(at + batch, files.length), files.length);
    }
  } finally {
    await queue.close();
  }
  return { jobs, skipped };
}

export type JobOutcome = { file: string; jobId: string; ok: true; result: unknown } | { file: string; jobId: string; ok: false; error: FailureReason };

/**
 * Wait until every job has completed or failed (for good: no attempts left); `onResult` gets each as
 * it lands. BullMQ's queue events say which job finished, and only that job is read; every
 * `sweepMs` (default 5 s) every pending job is read as well, for what the events cannot tell (jobs
 * that finished before the wait began, events lost while Redis restarted). Survives a Redis restart
 * (it reconnects and goes on) unless Redis stays away longer than `unavailableMs` (default 60 s):
 * then a QueueUnavailableError.
 */
export async function waitForJobs(
  jobs: readonly Submitted[],
  o: { redis: RedisOptions; queue?: string; sweepMs?: number; unavailableMs?: number; onResult?: (r: JobOutcome) => void | Promise<void> },
): Promise<JobOutcome[]> {
  const name = o.queue ?? DEFAULT_QUEUE;
  const connection = connectionOf(o.redis);
  const queue = new Queue(name, { connection });
  queue.on('error', () => {});
  const pending = new Map(jobs.map((j) => [j.jobId, j]));
  const finished = new Set<string>();
  let wake: (() => void) | undefined;
  const events = new QueueEvents(name, { connection });
  events.on('error', () => {});
  const landed = ({ jobId }: { jobId: string }) => {
    if (!pending.has(jobId)) return;
    finished.add(jobId);
    wake?.();
  };
  events.on('completed', landed);
  events.on('failed', landed);
  // Subscribed before the first sweep, so that a job finishing in between is not left to the next.
  await Promise.race([events.waitUntilReady().catch(() => {}), new Promise((r) => setTimeout(r, 2000).unref())]);
  const out: JobOutcome[] = [];
  let lastContact = Date.now();
  let lastSweep = -Infinity;
  const sweepMs = o.sweepMs ?? 5000;
  try {
    while (pending.size > 0) {
      const sweep = Date.now() - lastSweep >= sweepMs;
      const look = sweep ? [...pending.values()] : [...finished].flatMap((id) => pending.get(id) ?? []);
      finished.clear();
      try {
        for (const chunk of chunks(look, 200)) {
          const found = await Promise.all(chunk.map((j) => queue.getJob(j.jobId)));
          for (const [i, job] of found.entries()) {
            const j = chunk[i]!;
            const at = { file: j.file, jobId: j.jobId };
            let outcome: JobOutcome | undefined;
            if (!job)
              // Removed from the queue (cleaned, obliterated) or lost with Redis's data: it will not finish.
              outcome = {
                ...at,
                ok: false,
                error: {
                  code: 'JOB_MISSING',
                  name: 'QueueError',
                  message: `job ${j.jobId} is no longer in the queue (removed, or Redis lost its data); submit again`,
                },
              };
            else if (job.finishedOn) {
              // A job retried after a transient failure keeps that failure's reason: its state decides.
              const state = await queue.getJobState(j.jobId);
              if (state === 'completed') outcome = { ...at, ok: true, result: job.returnvalue };
              else if (state === 'failed') outcome = { ...at, ok: false, error: parseFailure(job.failedReason) };
            }
            if (outcome) {
              pending.delete(j.jobId);
              out.push(outcome);
              await o.onResult?.(outcome);
            }
          }
        }
        lastContact = Date.now();
        if (sweep) lastSweep = lastContact;
      } catch (error) {
        if (Date.now() - lastContact > (o.unavailableMs ?? 60_000))
          throw new QueueUnavailableError(
            `Redis stopped answering while ${pending.size} jobs were pending: ${(error as Error).message}; submit again to finish them (done jobs are not repeated)`,
          );
        for (const j of look) if (pending.has(j.jobId)) finished.add(j.jobId);
        await new Promise((r) => setTimeout(r, 250));
      }
      if (pending.size > 0 && finished.size === 0)
        await new Promise<void>((r) => {
          const timer = setTimeout(r, Math.max(0, lastSweep + sweepMs - Date.now()));
          wake = () => {
            clearTimeout(timer);
            r();
          };
        });
      wake = undefined;
    }
  } finally {
    await Promise.all([queue.close().catch(() => {}), events.close().catch(() => {})]);
  }
  return out;
}

function* chunks<T>(xs: readonly T[], n: number): Generator<T[]> {
  for (let i = 0; i < xs.length; i += n) yield xs.slice(i, i + n);
}
