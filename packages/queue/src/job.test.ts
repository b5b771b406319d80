import { mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { JobPayloadError, OutsideRootsError, QueueOptionError } from './errors.js';
import { parseVideoJob, realRoots, resolveInRoots, videoJobId } from './job.js';
import { connectionOf } from './redis.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saccade-queue-job-'));
  await mkdir(join(dir, 'root'));
  await writeFile(join(dir, 'root', 'a.mp4'), 'aaaa');
  await writeFile(join(dir, 'outside.mp4'), 'bbbb');
  await symlink(join(dir, 'outside.mp4'), join(dir, 'root', 'link.mp4'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('video jobs', () => {
  it('a job id depends on the video (path, size, mtime) and the model, not on who submits it', async () => {
    const a = await videoJobId(join(dir, 'root', 'a.mp4'), 'm1');
    expect(a).toMatch(/^v1-[0-9a-f]{40}$/);
    expect(await videoJobId(join(dir, 'root', '..', 'root', 'a.mp4'), 'm1')).toBe(a);
    expect(await videoJobId(join(dir, 'root', 'a.mp4'), 'm2')).not.toBe(a);
    await utimes(join(dir, 'root', 'a.mp4'), new Date(), new Date(Date.now() + 5000));
    expect(await videoJobId(join(dir, 'root', 'a.mp4'), 'm1')).not.toBe(a);
  });

  it('validates payloads, naming the field; paths resolve inside the roots, links followed', async () => {
    expect(parseVideoJob('j', { v: 1, path: '/x/a.mp4', file: 'a.mp4', model: 'm' })).toEqual({ v: 1, path: '/x/a.mp4', file: 'a.mp4', model: 'm' });
    expect(() => parseVideoJob('j', { v: 1, path: 'rel/a.mp4', file: 'a', model: 'm' })).toThrow(JobPayloadError);
    expect(() => parseVideoJob('j', { v: 1, path: 'rel/a.mp4', file: 'a', model: 'm' })).toThrow(/job j: path: must be an absolute path/);
    expect(() => parseVideoJob('j', { v: 1, path: '/a', file: 'a', model: 'm', cmd: 'rm -rf /' })).toThrow(/unrecognized key/i);
    expect(() => parseVideoJob('j', { v: 1, path: '/a', file: 'a', model: '../m' })).toThrow(/model/);
    const roots = await realRoots([join(dir, 'root')]);
    expect(await resolveInRoots(join(dir, 'root', 'a.mp4'), roots)).toMatch(/root\/a\.mp4$/);
    await expect(resolveInRoots(join(dir, 'outside.mp4'), roots)).rejects.toThrow(OutsideRootsError);
    await expect(resolveInRoots(join(dir, 'root', 'link.mp4'), roots)).rejects.toThrow(OutsideRootsError);
    await expect(resolveInRoots(join(dir, 'root', '..', 'outside.mp4'), roots)).rejects.toThrow(/outside the worker's roots/);
    await expect(resolveInRoots('/etc/passwd', roots)).rejects.toThrow(OutsideRootsError);
    await expect(realRoots([])).rejects.toThrow(QueueOptionError);
    await expect(realRoots([join(dir, 'nope')])).rejects.toThrow(/roots: .*nope cannot be resolved \(ENOENT\)/);
  });

  it('Redis URLs: host, port, db, user and password, TLS for rediss://; a bad URL names the option', () => {
    expect(connectionOf({ url: 'redis://127.0.0.1:6380/2' })).toMatchObject({ host: '127.0.0.1', port: 6380, db: 2, maxRetriesPerRequest: null });
    expect(connectionOf({ url: 'rediss://u:p%40ss@h.example' })).toMatchObject({ host: 'h.example', port: 6379, username: 'u', password: 'p@ss', tls: {} });
    expect(connectionOf({ url: 'redis://h', password: 'env' })).toMatchObject({ password: 'env' });
    expect(() => connectionOf({ url: 'http://h' })).toThrow(/redis: http: is not redis: or rediss:/);
    expect(() => connectionOf({ url: 'nope' })).toThrow(QueueOptionError);
    expect(() => connectionOf({ url: 'redis://h/x' })).toThrow(/database/);
  });
});
