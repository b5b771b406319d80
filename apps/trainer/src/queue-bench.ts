/**
 * Workers against one Redis: the videos/s of 1 and of 2 `saccade worker` processes (each loads the
 * model once, before the clock starts) on the same videos, through `saccade submit --wait`, against
 * a Redis started here (Debian's redis-server). The queue is emptied between runs so that each
 * classifies every video. `--repeat N` runs the worker counts in turn N times (a shared VM's speed
 * drifts from minute to minute) and reports each count's median and the median of the paired
 * ratios. Prints the figures; `--out FILE` writes them as JSON.
 *
 *   npm run bench:queue:workers -- --model runs/demo/v2/model --dir runs/demo/data/videos [--workers 1,2] [--limit 200] [--repeat 5] [--worker-args '--engine onnx --threads 1']
 */
import { spawn, spawnSync } from 'node:child_process';
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
const counts = values.workers.split(',').map(Number);
const repeat = Number(values.repeat);
const runs: { round: number; workers: number; videos: number; seconds: number; videosPerSecond: number }[] = [];
try {
  for (let round = 0; round < repeat; round++)
    for (const n of counts) {
      const logs: string[] = [];
      const procs = Array.from({ length: n }, (_, i) => {
        logs[i] = '';
        const extra = values['worker-args'].split(' ').filter((a) => a.length > 0);
        const p = spawn(process.execPath, [BIN, 'worker', values.model!, '--redis', redis.url, '--root', dir, '--name', `bench-${i}`, ...extra], {
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
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [BIN, 'submit', values.model!, ...videos, '--redis', redis.url, '--wait', '--out', '/dev/null', '--json'], {
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      });
      const seconds = (performance.now() - t0) / 1000;
      if (r.status !== 0) throw new Error(`submit failed (${r.status}): ${r.stderr}`);
      const ok = (JSON.parse(r.stdout) as { results: { ok: number } }).results.ok;
      runs.push({ round, workers: n, videos: ok, seconds, videosPerSecond: ok / seconds });
      console.log(`${n} worker${n > 1 ? 's' : ''}: ${ok} videos in ${seconds.toFixed(1)} s, ${(ok / seconds).toFixed(2)} videos/s`);
      await Promise.all(procs.map((p) => new Promise((res) => (p.once('exit', res), p.kill('SIGTERM')))));
    }
} finally {
  await redis.stop();
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const medians = counts.map((n) => ({ workers: n, videosPerSecond: median(runs.filter((r) => r.workers === n).map((r) => r.videosPerSecond)) }));
const [first, last] = [counts[0]!, counts.at(-1)!];
const ratios = Array.from({ length: repeat }, (_, round) => {
  const at = (n: number) => runs.find((r) => r.round === round && r.workers === n)!.videosPerSecond;
  return at(last) / at(first);
});
if (counts.length >= 2)
  console.log(
    `${last} workers over ${first}: ${ratios.map((r) => `${r.toFixed(2)}x`).join(', ')}${repeat > 1 ? `; median ${median(ratios).toFixed(2)}x (medians: ${medians.map((m) => `${m.workers}: ${m.videosPerSecond.toFixed(2)} videos/s`).join(', ')})` : ''}`,
  );
if (values.out)
  await writeFile(
    values.out,
    `${JSON.stringify({ model: values.model, dir, runs, medians, ratios, medianRatio: median(ratios), machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg() }, node: process.version }, null, 2)}\n`,
  );
