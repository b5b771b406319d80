/**
 * `saccade worker`, `saccade submit` and `saccade queue status`: a corpus classified by workers on
 * many machines through one Redis (@saccade/queue on BullMQ). A model's jobs go to a queue of its
 * own (`saccade-<model id>`, the id a hash of the bundle's saccade.json), so a worker only ever takes
 * jobs for the model it loaded, and the same video for the same model is the same job.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';

import { startWorker, submitVideos, waitForJobs, queueStatus, type JobOutcome, type QueueStatus, type RedisOptions } from '@saccade/queue';
import { loadModel } from '@saccade/sdk';
import { writeFileAtomic } from '@saccade/tensor/node';
import { locateFfmpeg } from '@saccade/video';

import { bundlePath, startEngine } from './commands.js';
import { UsageError } from './errors.js';

/**
 * The errors that are the video's own (it cannot be read or decoded, or holds no frames): its job
 * fails once with the error kept. Anything else (ffmpeg missing on this machine, storage, memory)
 * is retried, by this worker or another, so that one broken machine does not fail good videos.
 */
export const VIDEO_FAULTS: ReadonlySet<string> = new Set(['BAD_VIDEO_FILE', 'DECODE_FAILED', 'EMPTY_VIDEO', 'BAD_INPUT']);

const VIDEO_EXTENSIONS = new Set(['.mp4', '.webm', '.mkv', '.avi', '.mov', '.m4v', '.mpg', '.mpeg', '.ogv']);

/** The model's id: the first 16 hex digits of the SHA-256 of its saccade.json (which records every weight shard's hash). */
export async function modelId(run: string): Promise<string> {
  const meta = await readFile(join(bundlePath(run), 'saccade.json'));
  return createHash('sha256').update(meta).digest('hex').slice(0, 16);
}

export const queueOf = (model: string) => `saccade-${model}`;

/** Redis options from the flags; the password from SACCADE_REDIS_PASSWORD (never on the command line). */
export async function redisOf(url: string, tlsCa?: string): Promise<RedisOptions> {
  return {
    url,
    ...(process.env['SACCADE_REDIS_PASSWORD'] ? { password: process.env['SACCADE_REDIS_PASSWORD'] } : {}),
    ...(tlsCa ? { tls: { ca: await readFile(tlsCa) } } : {}),
  };
}

/** Run a worker until SIGTERM or SIGINT: then it finishes the job in hand and exits. */
export async function workerCommand(o: {
  run: string;
  redis: RedisOptions;
  roots: string[];
  /** URL prefixes URL jobs may fetch from. */
  allowUrls?: string[];
  maxDownloadBytes?: number;
  /** A tfjs backend by Saccade's name ('wasm', 'cpu', 'node', 'node-gpu', 'auto') or 'onnx'; a clear error when it cannot load. */
  engine?: string;
  /** ONNX Runtime's threads (engine onnx). */
  threads?: number;
  concurrency: number;
  topK?: number;
  budget?: number;
  name?: string;
  /** A job's lease (ms): how soon another worker takes the job of one that died. */
  lockMs?: number;
  log: (line: string) => void;
}): Promise<void> {
  if (o.roots.length === 0 && (o.allowUrls ?? []).length === 0)
    throw new UsageError('--root or --allow-url: give at least one folder or URL prefix the jobs may read videos from');
  // A machine without ffmpeg would fail every video: refuse to start instead.
  await locateFfmpeg();
  const { backend, load, name: engineName } = await startEngine(o.engine, o.threads);
  const model = await loadModel(bundlePath(o.run), load);
  const id = await modelId(o.run);
  let done = 0;
  try {
    const worker = await startWorker({
      redis: o.redis,
      queue: queueOf(id),
      roots: o.roots,
      allowUrls: o.allowUrls ?? [],
      ...(o.maxDownloadBytes !== undefined ? { download: { maxBytes: o.maxDownloadBytes } } : {}),
      concurrency: o.concurrency,
      ...(o.name ? { name: o.name } : {}),
      ...(o.lockMs !== undefined ? { lockDuration: o.lockMs, stalledInterval: o.lockMs } : {}),
      handle: async (path) => {
        const [r] = await model.classifyEach([path], { topK: o.topK ?? 5, ...(o.budget !== undefined ? { budgetGflops: o.budget } : {}) });
        if (!r!.ok) throw r!.error;
        const { input: _input, ...result } = r!;
        done++;
        return result;
      },
      permanent: (e) => VIDEO_FAULTS.has(String((e as { code?: unknown } | null)?.code)),
      onError: (e) => o.log(`redis: ${e.message}`),
    });
    o.log(
      `worker ${worker.name}: model ${id} on queue ${queueOf(id)}, engine ${engineName === 'onnx' ? `onnx (ONNX Runtime; crops and joins on ${backend.name})` : `${backend.name} (${backend.reason})`}, concurrency ${o.concurrency}`,
    );
    await new Promise<void>((resolveStop) => {
      const stop = (signal: string) => {
        o.log(`worker ${worker.name}: ${signal}, finishing the job in hand`);
        void worker.close().then(() => resolveStop());
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    o.log(`worker ${worker.name}: stopped after ${done} videos`);
  } finally {
    model.dispose();
  }
}

/** Video files under `dir` (recursively), by extension, sorted. */
async function videosUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && VIDEO_EXTENSIONS.has(extname(e.name).toLowerCase()))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

export interface SubmitSummary {
  queue: string;
  model: string;
  submitted: number;
  skipped: { file: string; error: string }[];
  results?: { ok: number; failed: number; out?: string };
}

/** Enqueue the videos; with `wait`, collect every result as JSONL (to `out` atomically, or `print` line by line). */
export async function submitCommand(o: {
  run: string;
  redis: RedisOptions;
  files: string[];
  list?: string;
  dir?: string;
  wait: boolean;
  out?: string;
  progress: (done: number, total: number, what: string) => void;
  print: (line: string) => void;
}): Promise<SubmitSummary> {
  const files = [...o.files];
  if (o.list)
    files.push(
      ...(await readFile(o.list, 'utf8'))
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#')),
    );
  if (o.dir) files.push(...(await videosUnder(resolve(o.dir))));
  if (files.length === 0) throw new UsageError('give videos: FILES..., --list FILE or --dir DIR');
  if (o.out && !o.wait) throw new UsageError('--out needs --wait (the results are written when they are in)');
  const model = await modelId(o.run);
  const queue = queueOf(model);
  const sub = await submitVideos(files, { redis: o.redis, queue, model, onProgress: (d, t) => o.progress(d, t, 'submitted') });
  const summary: SubmitSummary = { queue, model, submitted: sub.jobs.length, skipped: sub.skipped };
  if (!o.wait) return summary;
  const line = (r: JobOutcome) => JSON.stringify(r.ok ? { file: r.file, ok: true, ...(r.result as object) } : { file: r.file, ok: false, error: r.error });
  let landed = 0;
  const results = await waitForJobs(sub.jobs, {
    redis: o.redis,
    queue,
    onResult: (r) => {
      landed++;
      o.progress(landed, sub.jobs.length, 'classified');
      if (!o.out) o.print(line(r));
    },
  });
  // In submission order; skipped files as failures, so that every input has its line.
  const order = new Map(files.map((f, i) => [f, i]));
  results.sort((a, b) => order.get(a.file)! - order.get(b.file)!);
  const lines = [...results.map(line), ...sub.skipped.map((s) => JSON.stringify({ file: s.file, ok: false, error: { code: 'UNREADABLE', message: s.error } }))];
  if (o.out) await writeFileAtomic(resolve(o.out), `${lines.join('\n')}\n`);
  summary.results = { ok: results.filter((r) => r.ok).length, failed: results.filter((r) => !r.ok).length, ...(o.out ? { out: resolve(o.out) } : {}) };
  return summary;
}

export async function queueStatusCommand(o: { run: string; redis: RedisOptions }): Promise<QueueStatus & { queue: string }> {
  const queue = queueOf(await modelId(o.run));
  return { queue, ...(await queueStatus({ redis: o.redis, queue })) };
}
