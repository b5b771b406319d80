/**
 * A worker: BullMQ's Worker around a handler that classifies one video. The payload is validated
 * and its path held to the worker's roots (a URL to its allowed prefixes, then fetched into a
 * temporary folder that is removed after the job) before the handler sees it; an error the caller calls
 * permanent (a corrupt video, a bad payload, a path outside the roots) fails the job once with its
 * typed error kept (code, name, message) and is never retried; any other error is retried with
 * exponential backoff up to the job's attempts. Leases of workers that died are recovered by
 * BullMQ's stalled-job check. `close()` finishes the jobs in hand and takes no new ones.
 */
import { hostname } from 'node:os';

import { UnrecoverableError, Worker, type Job } from 'bullmq';

import { DownloadError, QueueOptionError } from './errors.js';
import { parseVideoJob, realRoots, resolveInRoots, type VideoJob } from './job.js';
import { connectionOf, type RedisOptions } from './redis.js';
import { downloadVideo, urlPrefixes, type DownloadOptions, type Downloaded } from './url.js';

export const DEFAULT_QUEUE = 'saccade';

export interface WorkerOptions {
  redis: RedisOptions;
  /** Queue name (default 'saccade'). */
  queue?: string;
  /** Folders the jobs' videos must be in (links followed). */
  roots: readonly string[];
  /** URL prefixes whose videos URL jobs may fetch (none: URL jobs are refused). */
  allowUrls?: readonly string[];
  /** Size and time limits of a URL job's download, and where it goes. */
  download?: DownloadOptions;
  /** Jobs in hand at once (default 1). */
  concurrency?: number;
  /** Classify one video (its real path inside the roots, or a URL job's downloaded file); the result is stored with the job. */
  handle: (path: string, job: VideoJob) => Promise<unknown>;
  /** Errors that retrying cannot fix (a corrupt video): failed once, kept with the job. Payload and root errors always are. */
  permanent?: (error: unknown) => boolean;
  /** How long a job's lease lasts without renewal, and how often leases of dead workers are looked for (ms; BullMQ's defaults 30000). */
  lockDuration?: number;
  stalledInterval?: number;
  /** A name for this worker in `queueStatus` (default host:pid). */
  name?: string;
  /** Connection errors (ioredis reconnects by itself meanwhile). */
  onError?: (error: Error) => void;
}

/** A failed job's reason: the typed error as JSON, so that submit can report its code. */
export interface FailureReason {
  code: string;
  name: string;
  message: string;
}

const reasonOf = (error: unknown): FailureReason => {
  const e = error as { code?: unknown; name?: unknown; message?: unknown };
  return {
    code: typeof e?.code === 'string' ? e.code : 'ERROR',
    name: typeof e?.name === 'string' ? e.name : 'Error',
    message: typeof e?.message === 'string' ? e.message : String(error),
  };
};

/** Parse a failed job's reason (what `startWorker` stored; anything else, such as BullMQ's stalled-job message, as a plain message). */
export function parseFailure(reason: string | undefined): FailureReason {
  try {
    const r = JSON.parse(reason ?? '') as Partial<FailureReason>;
    if (typeof r.code === 'string' && typeof r.message === 'string') return { code: r.code, name: r.name ?? 'Error', message: r.message };
  } catch {
    // not ours
  }
  return { code: 'ERROR', name: 'Error', message: reason ?? 'failed' };
}

export interface RunningWorker {
  readonly worker: Worker;
  readonly name: string;
  /** Finish the jobs in hand, take no new ones, disconnect. */
  close(): Promise<void>;
}

export async function startWorker(o: WorkerOptions): Promise<RunningWorker> {
  const concurrency = o.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256)
    throw new QueueOptionError('concurrency', `must be an integer in 1..256, got ${concurrency}`);
  const prefixes = urlPrefixes(o.allowUrls ?? []);
  if (o.roots.length === 0 && prefixes.length === 0)
    throw new QueueOptionError('roots', 'a worker needs at least one root folder (--root) or URL prefix (--allow-url) that its jobs may read from');
  const roots = o.roots.length > 0 ? await realRoots(o.roots) : [];
  const name = o.name ?? `${hostname()}:${process.pid}`;
  let inHand = 0;
  const processor = async (job: Job) => {
    inHand++;
    try {
      return await run(job);
    } finally {
      inHand--;
    }
  };
  const run = async (job: Job) => {
    let payload: VideoJob;
    let path: string;
    let fetched: Downloaded | undefined;
    try {
      payload = parseVideoJob(job.id ?? '?', job.data);
      if (payload.url !== undefined) fetched = await downloadVideo(payload.url, prefixes, o.download);
      path = fetched ? fetched.path : await resolveInRoots(payload.path!, roots);
    } catch (error) {
      // A bad payload, a path outside the roots or a URL outside the prefixes, a file that is not
      // there, a URL the server says is gone: retrying changes nothing. A download that failed on
      // the way (network, a server error) is retried.
      if (error instanceof DownloadError && !error.permanent) throw new Error(JSON.stringify(reasonOf(error)), { cause: error });
      throw new UnrecoverableError(JSON.stringify(reasonOf(error)));
    }
    try {
      return await o.handle(path, payload);
    } catch (error) {
      if (o.permanent?.(error)) throw new UnrecoverableError(JSON.stringify(reasonOf(error)));
      throw new Error(JSON.stringify(reasonOf(error)), { cause: error });
    } finally {
      await fetched?.remove();
    }
  };
  const worker = new Worker(o.queue ?? DEFAULT_QUEUE, processor, {
    connection: connectionOf(o.redis),
    concurrency,
    name,
    lockDuration: o.lockDuration ?? 30_000,
    stalledInterval: o.stalledInterval ?? 30_000,
    // A job whose worker died twice is still retried; a third time it fails, with BullMQ's reason.
    maxStalledCount: 2,
    autorun: true,
  });
  // Connection errors are retried by ioredis; without a listener Node would treat them as fatal.
  worker.on('error', (error) => o.onError?.(error));
  await worker.waitUntilReady();
  return {
    worker,
    name,
    async close() {
      const graceful = worker.close();
      // BullMQ's graceful close can wait on a blocking connection that is reconnecting (right after a
      // Redis restart) although no job is in hand: once none is, a forced close loses nothing.
      const idle = (async () => {
        while (inHand > 0) await new Promise((r) => setTimeout(r, 100));
        await new Promise((r) => setTimeout(r, 2000));
      })();
      // (close(true) would return the same pending promise: the connections are dropped instead.)
      await Promise.race([graceful, idle.then(() => worker.disconnect())]);
    },
  };
}
