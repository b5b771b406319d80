/** What a queue holds: jobs waiting, active, delayed (retries in backoff), done and failed, and each worker's videos/s over the last minute. */
import { DEFAULT_QUEUE } from './worker.js';
import { openQueue } from './submit.js';
import type { RedisOptions } from './redis.js';

export interface QueueStatus {
  waiting: number;
  active: number;
  delayed: number;
  completed: number;
  failed: number;
  /** Workers connected now, and per worker name the videos it finished in the last `windowSeconds`, per second. */
  workers: { name: string; videosPerSecond: number }[];
  windowSeconds: number;
}

export async function queueStatus(o: { redis: RedisOptions; queue?: string; windowSeconds?: number }): Promise<QueueStatus> {
  const queue = await openQueue(o.redis, o.queue ?? DEFAULT_QUEUE);
  const window = o.windowSeconds ?? 60;
  try {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'paused', 'prioritized');
    const since = Date.now() - window * 1000;
    const recent = await queue.getJobs(['completed'], 0, 4999, false);
    const per = new Map<string, number>();
    // The queue's clients include its own connections: workers are the ones BullMQ names `...:w:NAME`.
    for (const w of await queue.getWorkers()) {
      const raw = String(w['rawname'] ?? '');
      if (raw.includes(':w:')) per.set(raw.slice(raw.indexOf(':w:') + 3), 0);
    }
    for (const job of recent) {
      if (!job.finishedOn || job.finishedOn < since) continue;
      const name = job.processedBy ?? '?';
      per.set(name, (per.get(name) ?? 0) + 1);
    }
    return {
      waiting: (counts['waiting'] ?? 0) + (counts['paused'] ?? 0) + (counts['prioritized'] ?? 0),
      active: counts['active'] ?? 0,
      delayed: counts['delayed'] ?? 0,
      completed: counts['completed'] ?? 0,
      failed: counts['failed'] ?? 0,
      workers: [...per].map(([name, n]) => ({ name, videosPerSecond: n / window })).sort((a, b) => a.name.localeCompare(b.name)),
      windowSeconds: window,
    };
  } finally {
    await queue.close();
  }
}
