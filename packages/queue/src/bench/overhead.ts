/**
 * The queue's own cost per video: `--jobs` (1,000) files submitted, taken by one worker whose
 * handler does nothing, and every result collected, against a real Redis started here (Debian's
 * redis-server). Prints the figures and writes them as JSON with `--out FILE`.
 *
 *   npm run bench:queue -- [--jobs 1000] [--concurrency 1] [--out report.json]
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { startRedis } from '../testing.js';
import { submitVideos, waitForJobs } from '../submit.js';
import { startWorker } from '../worker.js';

const { values } = parseArgs({
  options: { jobs: { type: 'string', default: '1000' }, concurrency: { type: 'string', default: '1' }, out: { type: 'string' } },
});
const jobs = Number(values.jobs);
const concurrency = Number(values.concurrency);

const redis = await startRedis();
const dir = await mkdtemp(join(tmpdir(), 'saccade-queue-bench-'));
try {
  const files: string[] = [];
  for (let i = 0; i < jobs; i++) {
    const f = join(dir, `v${i}.mp4`);
    await writeFile(f, String(i));
    files.push(f);
  }
  const q = { url: redis.url };
  const worker = await startWorker({ redis: q, queue: 'bench', roots: [dir], concurrency, handle: async () => ({ label: 'noop' }) });
  const t0 = performance.now();
  const sub = await submitVideos(files, { redis: q, queue: 'bench', model: 'noop' });
  const t1 = performance.now();
  const results = await waitForJobs(sub.jobs, { redis: q, queue: 'bench' });
  const t2 = performance.now();
  await worker.close();
  if (results.filter((r) => r.ok).length !== jobs) throw new Error(`only ${results.filter((r) => r.ok).length} of ${jobs} jobs completed`);
  const report = {
    jobs,
    concurrency,
    submitMs: t1 - t0,
    processAndCollectMs: t2 - t1,
    totalMs: t2 - t0,
    msPerJob: (t2 - t0) / jobs,
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg() },
    node: process.version,
  };
  console.log(
    `${jobs} no-op jobs, one worker (concurrency ${concurrency}): submit ${report.submitMs.toFixed(0)} ms, processed and collected ${report.processAndCollectMs.toFixed(0)} ms: ${report.msPerJob.toFixed(2)} ms per job end to end`,
  );
  if (values.out) await writeFile(values.out, `${JSON.stringify(report, null, 2)}\n`);
} finally {
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
}
