/**
 * Workers against one Redis: the videos/s of 1 and of 2 `saccade worker` processes (each loads the
 * model once, before the clock starts) on the same videos, through `saccade submit --wait`, against
 * a Redis started here (Debian's redis-server). The queue is emptied between runs so that each
 * classifies every video. `--repeat N` runs the worker counts in turn N times (a shared VM's speed
 * drifts from minute to minute) and reports each count's median and the median of the paired
 * ratios, end to end (the submitter's start-up included) and while the workers were busy (BullMQ's
 * processedOn to finishedOn), with each process's CPU per video from /proc (Linux): the workers,
 * their ffprobe and ffmpeg, the submit process, Redis. Prints the figures; `--out FILE` writes them
 * as JSON.
 *
 *   npm run bench:queue:workers -- --model runs/demo/v2/model --dir runs/demo/data/videos [--workers 1,2] [--limit 200] [--repeat 5] [--worker-args '--engine onnx --threads 1'] [--node-args --single-threaded-gc]
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { openQueue } from '@saccade/queue';
import { startRedis } from '@saccade/queue/testing';

const BIN = fileURLToPath(new URL('../bin/saccade.js', import.meta.url));
const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    dir: { type: 'string' },
    workers: { type: 'string', default: '1,2' },
    limit: { type: 'string', default: '200' },
    repeat: { type: 'string', default: '1' },
    // Flags for every worker, split on spaces: '--engine onnx --threads 1'.
    'worker-args': { type: 'string', default: '' },
    // Node's own flags for every worker process, split on spaces: '--single-threaded-gc'.
    'node-args': { type: 'string', default: '' },
    out: { type: 'string' },
  },
});
if (!values.model || !values.dir) throw new Error('--model BUNDLE and --dir VIDEOS are required');
const dir = resolve(values.dir);
const videos = (await readdir(dir))
  .filter((f) => f.endsWith('.mp4'))
  .sort()
  .slice(0, Number(values.limit))
  .map((f) => join(dir, f));
const redis = await startRedis();
// CPU time of a process from /proc (Linux): its own, and that of its children it has waited for
// (a worker's ffprobe and ffmpeg; this bench's submit processes), in ms. Clock ticks of 10 ms.
const cpuOf = (pid: number | undefined | 'self') => {
  if (pid === undefined) return { own: NaN, children: NaN };
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    // Fields 14-17 of proc(5) (utime, stime, cutime, cstime) are 11-14 after the name.
    return { own: (f[11]! + f[12]!) * 10, children: (f[13]! + f[14]!) * 10 };
  } catch {
    return { own: NaN, children: NaN };
  }
};
const counts = values.workers.split(',').map(Number);
const repeat = Number(values.repeat);
// seconds: from the submitter's start to its last result (its own start-up and the submitting
// included); workerSeconds: from the first job a worker took to the last one finished (BullMQ's
// processedOn and finishedOn), the workers' own throughput.
const runs: {
  round: number;
  workers: number;
  videos: number;
  seconds: number;
  videosPerSecond: number;
  workerSeconds: number;
  workerVideosPerSecond: number;
  /** CPU ms per video: the workers' processes, their ffprobe and ffmpeg, the submit process, Redis. */
  cpuPerVideo: { workers: number; decoders: number; submit: number; redis: number };
}[] = [];
try {
  for (let round = 0; round < repeat; round++)
    for (const n of counts) {
      const logs: string[] = [];
      const procs = Array.from({ length: n }, (_, i) => {
        logs[i] = '';
        const extra = values['worker-args'].split(' ').filter((a) => a.length > 0);
        const nodeArgs = values['node-args'].split(' ').filter((a) => a.length > 0);
        const p = spawn(process.execPath, [...nodeArgs, BIN, 'worker', values.model!, '--redis', redis.url, '--root', dir, '--name', `bench-${i}`, ...extra], {
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        p.stderr.on('data', (d: Buffer) => (logs[i] += d.toString()));
        return p;
      });
      const end = Date.now() + 120_000;
      while (!logs.every((l) => l.includes('on queue saccade-'))) {
        if (Date.now() > end) throw new Error(`workers not ready: ${logs.join('\n')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      const queueName = /on queue (saccade-[0-9a-f]+)/.exec(logs[0]!)![1]!;
      const q = await openQueue({ url: redis.url }, queueName);
      await q.obliterate({ force: true });
      await q.close();
      const before = { workers: procs.map((p) => cpuOf(p.pid)), self: cpuOf('self'), redis: cpuOf(redis.pid) };
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [BIN, 'submit', values.model!, ...videos, '--redis', redis.url, '--wait', '--out', '/dev/null', '--json'], {
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      });
      const seconds = (performance.now() - t0) / 1000;
      if (r.status !== 0) throw new Error(`submit failed (${r.status}): ${r.stderr}`);
      const ok = (JSON.parse(r.stdout) as { results: { ok: number } }).results.ok;
      const after = { workers: procs.map((p) => cpuOf(p.pid)), self: cpuOf('self'), redis: cpuOf(redis.pid) };
      const sum = (xs: { own: number; children: number }[], key: 'own' | 'children') => xs.reduce((a, x) => a + x[key], 0);
      const cpuPerVideo = {
        workers: (sum(after.workers, 'own') - sum(before.workers, 'own')) / ok,
        decoders: (sum(after.workers, 'children') - sum(before.workers, 'children')) / ok,
        submit: (after.self.children - before.self.children) / ok,
        redis: (after.redis.own - before.redis.own) / ok,
      };
      const done = await openQueue({ url: redis.url }, queueName);
      const finished = await done.getJobs(['completed'], 0, -1);
      await done.close();
      const workerSeconds = (Math.max(...finished.map((j) => j.finishedOn!)) - Math.min(...finished.map((j) => j.processedOn!))) / 1000;
      runs.push({
        round,
        workers: n,
        videos: ok,
        seconds,
        videosPerSecond: ok / seconds,
        workerSeconds,
        workerVideosPerSecond: ok / workerSeconds,
        cpuPerVideo,
      });
      console.log(
        `${n} worker${n > 1 ? 's' : ''}: ${ok} videos in ${seconds.toFixed(1)} s, ${(ok / seconds).toFixed(2)} videos/s; workers busy ${workerSeconds.toFixed(1)} s, ${(ok / workerSeconds).toFixed(2)} videos/s; CPU ms per video: ${Object.entries(
          cpuPerVideo,
        )
          .map(([k, v]) => `${k} ${v.toFixed(1)}`)
          .join(', ')}`,
      );
      await Promise.all(procs.map((p) => new Promise((res) => (p.once('exit', res), p.kill('SIGTERM')))));
    }
} finally {
  await redis.stop();
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const medians = counts.map((n) => {
  const of = runs.filter((r) => r.workers === n);
  return { workers: n, videosPerSecond: median(of.map((r) => r.videosPerSecond)), workerVideosPerSecond: median(of.map((r) => r.workerVideosPerSecond)) };
});
const [first, last] = [counts[0]!, counts.at(-1)!];
const ratiosOf = (key: 'videosPerSecond' | 'workerVideosPerSecond') =>
  Array.from({ length: repeat }, (_, round) => {
    const at = (n: number) => runs.find((r) => r.round === round && r.workers === n)![key];
    return at(last) / at(first);
  });
const ratios = ratiosOf('videosPerSecond');
const workerRatios = ratiosOf('workerVideosPerSecond');
if (counts.length >= 2)
  for (const [what, rs, key] of [
    ['end to end', ratios, 'videosPerSecond'],
    ['workers busy', workerRatios, 'workerVideosPerSecond'],
  ] as const)
    console.log(
      `${last} workers over ${first} (${what}): ${rs.map((r) => `${r.toFixed(2)}x`).join(', ')}${repeat > 1 ? `; median ${median(rs).toFixed(2)}x (medians: ${medians.map((m) => `${m.workers}: ${m[key].toFixed(2)} videos/s`).join(', ')})` : ''}`,
    );
if (values.out)
  await writeFile(
    values.out,
    `${JSON.stringify({ model: values.model, dir, runs, medians, ratios, medianRatio: median(ratios), workerRatios, workerMedianRatio: median(workerRatios), machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg() }, node: process.version }, null, 2)}\n`,
  );
