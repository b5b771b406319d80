import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/**
 * Write a folder atomically: `fill` writes into a temporary folder next to `dir`, which is then
 * swapped in by rename (an older folder is moved aside first and removed after), so a failure at
 * any moment leaves either the old folder or the new one in place, never a half-written one.
 */
export async function writeFolderAtomic(dir: string, fill: (temp: string) => Promise<void>): Promise<void> {
  const target = resolve(dir);
  await mkdir(dirname(target), { recursive: true });
  const sibling = (kind: string) => join(dirname(target), `.${basename(target)}.${kind}-${process.pid}-${randomBytes(4).toString('hex')}`);
  const temp = sibling('tmp');
  try {
    await fill(temp);
    let old: string | undefined;
    if (existsSync(target)) {
      old = sibling('old');
      await rename(target, old);
    }
    await rename(temp, target);
    if (old) await rm(old, { recursive: true, force: true });
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

/** Names that killed writes leave behind: writeFileAtomic's and writeFolderAtomic's temporaries. */
const LEFTOVER = /(\.tmp-\d+-[0-9a-f]{8}$)|(^\..+\.(tmp|old)-\d+-[0-9a-f]{8}$)|(^run\.lock\.stale-)/;

/**
 * Remove what killed runs left in a run folder: temporary files (`checkpoint.bin.tmp-*`,
 * `summary.json.tmp-*`) and folders (`.model.tmp-*`, `.model.old-*`). Call it while holding the
 * folder's lock, so that no live writer's temporaries are taken. Returns the names removed.
 */
export async function cleanRunFolder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    if (!LEFTOVER.test(name)) continue;
    await rm(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
