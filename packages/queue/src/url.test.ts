// URL jobs against a real http server (node:http on 127.0.0.1) and a real Redis: prefixes hold,
// redirects are followed only inside them, a gone video fails once, a server error is retried, the
// size limit holds, and every downloaded file is removed after its job.
import { once } from 'node:events';
import { readdir, readFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { DownloadError, QueueOptionError, UrlNotAllowedError } from './errors.js';
import { parseVideoJob } from './job.js';
import { submitVideos, waitForJobs } from './submit.js';
import { startRedis, type TestRedis } from './testing.js';
import { allowedUrl, downloadVideo, urlJobId, urlPrefixes } from './url.js';
import { startWorker } from './worker.js';

let server: Server;
let base: string;
let redis: TestRedis;
let tmp: string;
const hits = new Map<string, number>();
let etag = 'e1';

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'saccade-url-test-'));
  server = createServer((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    // GETs only: submit's HEADs read no content.
    if (req.method === 'GET') hits.set(path, (hits.get(path) ?? 0) + 1);
    const n = hits.get(path) ?? 0;
    const video = /^\/videos\/(v\d+)\.mp4$/.exec(path);
    if (video) {
      res.writeHead(200, { 'content-type': 'video/mp4', etag: `"${etag}"` });
      res.end(req.method === 'HEAD' ? undefined : `video ${video[1]}`);
    } else if (path === '/videos/flaky.mp4') {
      // Fails its first two GETs with a server error.
      if (req.method !== 'HEAD' && n <= 2) res.writeHead(503).end();
      else res.writeHead(200).end(req.method === 'HEAD' ? undefined : 'video flaky');
    } else if (path === '/videos/moved.mp4') res.writeHead(302, { location: '/videos/v1.mp4' }).end();
    else if (path === '/videos/escape.mp4') res.writeHead(302, { location: '/private/secret.txt' }).end();
    else if (path === '/videos/loop.mp4') res.writeHead(302, { location: '/videos/loop.mp4' }).end();
    else if (path === '/videos/big.mp4') {
      // No content-length: the limit must hold while streaming.
      res.writeHead(200);
      res.end(Buffer.alloc(5000, 1));
    } else if (path === '/videos/nohead.mp4') {
      if (req.method === 'HEAD') res.writeHead(405).end();
      else res.writeHead(206, { 'content-range': 'bytes 0-0/11' }).end('v');
    } else if (path === '/private/secret.txt') res.writeHead(200).end('secret');
    else res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address() as { port: number };
  base = `http://127.0.0.1:${addr.port}`;
  redis = await startRedis();
});
afterAll(async () => {
  server?.close();
  await redis?.stop();
  await rm(tmp, { recursive: true, force: true });
});

describe('URL jobs', () => {
  it('prefixes hold after normalisation; credentials, other schemes and encoded slashes are refused', () => {
    const p = urlPrefixes([`${base}/videos`]);
    expect(p[0]!.href).toBe(`${base}/videos/`);
    expect(allowedUrl(`${base}/videos/a.mp4`, p).href).toBe(`${base}/videos/a.mp4`);
    expect(allowedUrl(`${base}/videos/sub/../a.mp4`, p).pathname).toBe('/videos/a.mp4');
    expect(() => allowedUrl(`${base}/videos/../private/secret.txt`, p)).toThrow(UrlNotAllowedError);
    expect(() => allowedUrl(`${base}/videos/%2e%2e/private/secret.txt`, p)).toThrow(/not under/);
    expect(() => allowedUrl(`${base}/videos/..%2fprivate/secret.txt`, p)).toThrow(/encoded slash/);
    expect(() => allowedUrl(`${base}/videosX/a.mp4`, p)).toThrow(UrlNotAllowedError);
    expect(() => allowedUrl(`http://127.0.0.2:${new URL(base).port}/videos/a.mp4`, p)).toThrow(UrlNotAllowedError);
    expect(() => allowedUrl(`http://u:p@127.0.0.1/videos/a.mp4`, urlPrefixes(['http://127.0.0.1/videos/']))).toThrow(/credentials/);
    expect(() => allowedUrl('file:///etc/passwd', p)).toThrow(/file: is not http/);
    expect(() => allowedUrl(`${base}/videos/a.mp4`, [])).toThrow(/no --allow-url/);
    expect(() => urlPrefixes(['ftp://h/x'])).toThrow(QueueOptionError);
    expect(() => urlPrefixes(['http://h/x?y=1'])).toThrow(/no query/);
    expect(() => parseVideoJob('j', { v: 1, url: 'file:///etc/passwd', file: 'x', model: 'm' })).toThrow(/url: must be an http/);
    expect(() => parseVideoJob('j', { v: 1, url: `${base}/a`, path: '/a', file: 'x', model: 'm' })).toThrow(/exactly one/);
    expect(() => parseVideoJob('j', { v: 1, file: 'x', model: 'm' })).toThrow(/exactly one/);
  });

  it('downloads under the limits: redirects inside the prefixes only, 404 permanent, 503 transient, size held while streaming', async () => {
    const p = urlPrefixes([`${base}/videos/`]);
    const d = await downloadVideo(`${base}/videos/moved.mp4`, p, { tmp });
    expect(await readFile(d.path, 'utf8')).toBe('video v1');
    expect(d.path.endsWith('.mp4')).toBe(true);
    await d.remove();
    expect(await readdir(tmp)).toEqual([]);
    await expect(downloadVideo(`${base}/videos/escape.mp4`, p, { tmp })).rejects.toThrow(UrlNotAllowedError);
    expect(hits.get('/private/secret.txt')).toBeUndefined();
    await expect(downloadVideo(`${base}/videos/loop.mp4`, p, { tmp })).rejects.toThrow(/more than 5 redirects/);
    const gone = await downloadVideo(`${base}/videos/none.mp4`, p, { tmp }).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(DownloadError);
    expect(gone).toMatchObject({ code: 'DOWNLOAD_FAILED', permanent: true, status: 404 });
    const busy = await downloadVideo(`${base}/videos/flaky.mp4`, p, { tmp }).catch((e: unknown) => e);
    expect(busy).toMatchObject({ permanent: false, status: 503 });
    const big = await downloadVideo(`${base}/videos/big.mp4`, p, { tmp, maxBytes: 1000 }).catch((e: unknown) => e);
    expect(big).toMatchObject({ permanent: true });
    expect((big as Error).message).toMatch(/over the limit of 1000 bytes/);
    const closed = createServer().listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as { port: number }).port;
    closed.close();
    const down = await downloadVideo(`http://127.0.0.1:${port}/videos/a.mp4`, urlPrefixes([`http://127.0.0.1:${port}/videos/`]), { tmp }).catch(
      (e: unknown) => e,
    );
    expect(down).toMatchObject({ permanent: false });
    expect((down as Error).message).toMatch(/ECONNREFUSED/);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('a URL job id follows the content (ETag), and a server without HEAD is asked for one byte', async () => {
    const a = await urlJobId(`${base}/videos/v1.mp4`, 'm');
    expect(await urlJobId(`${base}/videos/v1.mp4`, 'm')).toBe(a);
    expect(await urlJobId(`${base}/videos/v1.mp4`, 'm2')).not.toBe(a);
    etag = 'e2';
    expect(await urlJobId(`${base}/videos/v1.mp4`, 'm')).not.toBe(a);
    etag = 'e1';
    expect(await urlJobId(`${base}/videos/nohead.mp4`, 'm')).toMatch(/^v1-/);
    await expect(urlJobId(`${base}/videos/none.mp4`, 'm')).rejects.toThrow(/HTTP 404/);
  });

  it('workers classify URL jobs next to path jobs; a gone or refused URL fails once, a 503 is retried, nothing is left on disk', async () => {
    const q = { url: redis.url };
    const seen: string[] = [];
    const workers = await Promise.all(
      [0, 1].map((i) =>
        startWorker({
          redis: q,
          queue: 'urls',
          roots: [],
          allowUrls: [`${base}/videos/`],
          download: { tmp },
          name: `u${i}`,
          handle: async (path, job) => {
            expect(path.startsWith(tmp)).toBe(true);
            seen.push(job.url!);
            return { label: await readFile(path, 'utf8') };
          },
        }),
      ),
    );
    try {
      const urls = [
        ...[0, 1, 2, 3, 4, 5].map((i) => `${base}/videos/v${i}.mp4`),
        `${base}/videos/flaky.mp4`,
        `${base}/videos/escape.mp4`,
        `${base}/private/secret.txt`,
      ];
      const sub = await submitVideos([...urls, `${base}/videos/none.mp4`], { redis: q, queue: 'urls', model: 'm', backoffMs: 20 });
      expect(sub.skipped.map((s) => s.file)).toEqual([`${base}/videos/none.mp4`]);
      const results = await waitForJobs(sub.jobs, { redis: q, queue: 'urls' });
      const by = new Map(results.map((r) => [r.file, r]));
      for (let i = 0; i < 6; i++) expect(by.get(`${base}/videos/v${i}.mp4`)).toMatchObject({ ok: true, result: { label: `video v${i}` } });
      expect(by.get(`${base}/videos/flaky.mp4`)).toMatchObject({ ok: true, result: { label: 'video flaky' } });
      expect(by.get(`${base}/videos/escape.mp4`)).toMatchObject({ ok: false, error: { code: 'URL_NOT_ALLOWED' } });
      expect(by.get(`${base}/private/secret.txt`)).toMatchObject({ ok: false, error: { code: 'URL_NOT_ALLOWED', name: 'UrlNotAllowedError' } });
      expect(hits.get('/private/secret.txt')).toBeUndefined(); // no worker fetched it
      expect(hits.get('/videos/flaky.mp4')).toBe(3); // the download test's 503, then this job's 503 and its retry
      expect(seen.filter((u) => u.endsWith('/v1.mp4'))).toHaveLength(1);
      expect(await readdir(tmp)).toEqual([]);
      // A path job for a URL-only worker is outside its (no) roots.
      const path = await submitVideos([join(tmp, '..')], { redis: q, queue: 'urls', model: 'm' });
      const [r] = await waitForJobs(path.jobs, { redis: q, queue: 'urls' });
      expect(r).toMatchObject({ ok: false, error: { code: 'OUTSIDE_ROOTS' } });
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
    await expect(startWorker({ redis: q, queue: 'urls', roots: [], handle: async () => 0 })).rejects.toThrow(/--root\) or URL prefix/);
  });
});
