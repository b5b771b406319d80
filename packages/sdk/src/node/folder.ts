import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
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
