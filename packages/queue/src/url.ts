/**
 * Video jobs by URL: a worker fetches the video over http(s) into a folder of its own, classifies it
 * and removes it. A URL is taken only when it lies under one of the prefixes the worker was given
 * (`--allow-url`), and so is every redirect it follows, so that a job cannot make a worker fetch
 * from anywhere else (its cloud metadata service, a database's admin port). The download is held to
 * a size and a time; a missing video (404, 410, any 4xx but 408 and 429) fails its job once, a
 * server or network error is retried.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';

import { DownloadError, QueueOptionError, UrlNotAllowedError } from './errors.js';

/** True for what submit treats as a URL job rather than a path. */
export const isVideoUrl = (s: string): boolean => /^https?:\/\//i.test(s);

/** The URL, parsed and checked for what no prefix may allow: another scheme, credentials, an encoded slash. */
export function parseVideoUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UrlNotAllowedError(url, 'not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UrlNotAllowedError(url, `${u.protocol} is not http: or https:`);
  if (u.username || u.password) throw new UrlNotAllowedError(url, 'credentials in a URL are refused (they would be stored with the job)');
  // A server may decode %2F or %5C into a separator after the prefix was checked.
  if (/%2f|%5c/i.test(u.pathname)) throw new UrlNotAllowedError(url, 'an encoded slash or backslash in the path is refused');
  return u;
}

/** Prefixes as parsed URLs; a QueueOptionError naming the bad one. A prefix's path ends in '/' (added when missing). */
export function urlPrefixes(prefixes: readonly string[]): URL[] {
  return prefixes.map((p) => {
    let u: URL;
    try {
      u = parseVideoUrl(p);
    } catch (error) {
      throw new QueueOptionError('allowUrls', `${p}: ${(error as Error).message}`);
    }
    if (u.search || u.hash) throw new QueueOptionError('allowUrls', `${p}: a prefix has no query or fragment`);
    if (!u.pathname.endsWith('/')) u.pathname += '/';
    return u;
  });
}

/** The URL (normalised: dot segments resolved, default port dropped) if it lies under one of `prefixes`, else a UrlNotAllowedError. */
export function allowedUrl(url: string, prefixes: readonly URL[]): URL {
  const u = parseVideoUrl(url);
  const ok = prefixes.some((p) => u.origin === p.origin && u.pathname.startsWith(p.pathname));
  if (!ok)
    throw new UrlNotAllowedError(
      url,
      prefixes.length === 0 ? 'this worker takes no URL jobs (no --allow-url)' : `not under ${prefixes.map((p) => p.href).join(', ')}`,
    );
  return u;
}

export interface DownloadOptions {
  /** Largest video accepted (bytes; default 2 GiB). */
  maxBytes?: number;
  /** Whole download, redirects included (ms; default 10 minutes). */
  timeoutMs?: number;
  /** Where the temporary folder goes (default the OS's). */
  tmp?: string;
}

export interface Downloaded {
  path: string;
  bytes: number;
  /** Removes the file and its folder. */
  remove(): Promise<void>;
}

const MAX_REDIRECTS = 5;

/** Fetch `url` (under `prefixes`, every redirect too) into a new temporary folder. */
export async function downloadVideo(url: string, prefixes: readonly URL[], o: DownloadOptions = {}): Promise<Downloaded> {
  const maxBytes = o.maxBytes ?? 2 ** 31;
  const signal = AbortSignal.timeout(o.timeoutMs ?? 600_000);
  let at = allowedUrl(url, prefixes);
  let response: Response | undefined;
  for (let hop = 0; ; hop++) {
    try {
      response = await fetch(at, { redirect: 'manual', signal });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new DownloadError(url, `${at.href}: ${cause?.code ?? cause?.message ?? (error as Error).message}`, false);
    }
    if (response.status >= 300 && response.status < 400 && response.headers.has('location')) {
      await response.body?.cancel();
      if (hop === MAX_REDIRECTS) throw new DownloadError(url, `more than ${MAX_REDIRECTS} redirects`, true);
      const next = new URL(response.headers.get('location')!, at).href;
      at = allowedUrl(next, prefixes);
      continue;
    }
    break;
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    const permanent = response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429;
    throw new DownloadError(url, `${at.href}: HTTP ${response.status} ${response.statusText}`.trim(), permanent, response.status);
  }
  const length = Number(response.headers.get('content-length') ?? NaN);
  if (length > maxBytes) {
    await response.body.cancel();
    throw new DownloadError(url, `${length} bytes is over the limit of ${maxBytes}`, true);
  }
  const dir = await mkdtemp(join(o.tmp ?? tmpdir(), 'saccade-url-'));
  const remove = () => rm(dir, { recursive: true, force: true });
  // The extension only helps ffmpeg guess; it comes from the URL, so only a plain one is kept.
  const ext = extname(at.pathname).toLowerCase();
  const path = join(dir, `video${/^\.[a-z0-9]{1,8}$/.test(ext) ? ext : ''}`);
  let bytes = 0;
  try {
    await pipeline(
      Readable.fromWeb(response.body as WebReadableStream),
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          bytes += chunk.length;
          done(bytes > maxBytes ? new DownloadError(url, `over the limit of ${maxBytes} bytes`, true) : null, chunk);
        },
      }),
      createWriteStream(path, { flags: 'wx' }),
    );
  } catch (error) {
    await remove();
    if (error instanceof DownloadError) throw error;
    throw new DownloadError(url, `${at.href}: ${(error as Error).message}`, false);
  }
  return { path, bytes, remove };
}

/** What identifies a URL's content without reading it: the server's ETag, Last-Modified and length (from HEAD). */
export async function urlValidators(url: string, timeoutMs = 30_000): Promise<string> {
  const u = parseVideoUrl(url);
  const signal = AbortSignal.timeout(timeoutMs);
  let r: Response;
  try {
    r = await fetch(u, { method: 'HEAD', signal });
    // Some servers refuse HEAD: the first byte tells the same.
    if (r.status === 405 || r.status === 501) {
      r = await fetch(u, { headers: { range: 'bytes=0-0' }, signal });
      await r.body?.cancel();
    }
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    throw new DownloadError(url, cause?.code ?? (error as Error).message, false);
  }
  if (!r.ok) throw new DownloadError(url, `HTTP ${r.status} ${r.statusText}`.trim(), r.status >= 400 && r.status < 500, r.status);
  const h = (k: string) => r.headers.get(k) ?? '';
  const length = r.status === 206 ? (h('content-range').split('/')[1] ?? '') : h('content-length');
  return `${h('etag')}\0${h('last-modified')}\0${length}`;
}

/** The job id of a URL for a model: the URL and what the server says identifies its content. */
export async function urlJobId(url: string, model: string): Promise<string> {
  const validators = await urlValidators(url);
  const h = createHash('sha256')
    .update(`${model}\0url\0${parseVideoUrl(url).href}\0${validators}`)
    .digest('hex');
  return `v1-${h.slice(0, 40)}`;
}
