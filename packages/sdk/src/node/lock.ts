/**
 * Node-only: one writer per run folder. `acquireRunLock(dir)` creates `dir/run.lock` exclusively
 * (O_EXCL) with the holder's pid and host; a second process gets a RunLockedError naming that pid
 * at once. A lock whose process is gone (killed, crashed) on this host is recovered: it is moved
 * aside by rename, which only one contender can win, and taken anew.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { RunLockedError } from '../errors.js';

export const LOCK_FILE = 'run.lock';

interface LockContent {
  pid: number;
  host: string;
  since: string;
  token: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readLock(path: string): Promise<LockContent | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as LockContent;
  } catch {
    return undefined;
  }
}

export interface RunLock {
  path: string;
  /** Remove the lock (only if it is still this one). */
  release(): Promise<void>;
}

/** Take the run folder's lock, or throw RunLockedError naming the pid that holds it. */
export async function acquireRunLock(dir: string): Promise<RunLock> {
  const path = join(dir, LOCK_FILE);
  const content: LockContent = { pid: process.pid, host: hostname(), since: new Date().toISOString(), token: randomBytes(8).toString('hex') };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const handle = await open(path, 'wx');
      try {
        await handle.writeFile(`${JSON.stringify(content)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return {
        path,
        async release() {
          const now = await readLock(path);
          if (now?.token === content.token) await rm(path, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readLock(path);
    if (!holder) {
      // A lock being written this instant reads as empty: look again; still unreadable, it is one
      // a killed process left empty.
      await new Promise((r) => setTimeout(r, 50));
      if (!(await readLock(path))) await moveAside(path);
      continue;
    }
    if (holder.host !== hostname() || alive(holder.pid)) throw new RunLockedError(dir, holder.pid, holder.host, holder.since);
    await moveAside(path, holder.token);
  }
  throw new RunLockedError(dir, -1, hostname(), 'unknown (the lock changed hands repeatedly)');
}

/**
 * Move a stale lock out of the way. Rename is atomic, so of several contenders one moves it; a
 * contender that moved a fresh lock (taken by another between its read and its rename) puts it back.
 */
async function moveAside(path: string, staleToken?: string): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = await readLock(aside);
  if (staleToken !== undefined && moved && moved.token !== staleToken) {
    // Not the stale lock: give it back (a hard link would not overwrite a newer one).
    await rename(aside, path).catch(() => undefined);
    return;
  }
  await rm(aside, { force: true });
}
