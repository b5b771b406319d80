/**
 * Dataset lists in the official AdaFocus layouts:
 * - comma: `video,num_frames,label[,label2,label3]` (ActivityNet, FCVID; multi-label),
 * - space: `path num_frames label` (Mini-Kinetics, Something-Something, Jester; paths may contain
 *   spaces: the last two fields are the numbers),
 * - classInd.txt (`1 ApplyEyeMakeup`, 1-based) or category.txt (one name per line),
 * - or a folder of videos with one sub-folder per class.
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';

import { ListParseError, VideoFileError } from './errors.js';

export interface ListEntry {
  /** The path or id as written in the list (resolve it against the dataset root). */
  path: string;
  frames: number;
  /** One label, or several (multi-label comma lists). */
  labels: number[];
  /** 1-based line in the list file. */
  line: number;
}

export type ListFormat = 'comma' | 'space';

function integer(text: string | undefined): number | undefined {
  return text !== undefined && /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : undefined;
}

export function parseList(text: string, file: string, format: ListFormat | 'auto' = 'auto', numClasses?: number): ListEntry[] {
  const entries: ListEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const content = raw.trim();
    if (content === '' || content.startsWith('#')) return;
    const fmt = format === 'auto' ? (content.includes(',') ? 'comma' : 'space') : format;
    let path: string;
    let frames: number | undefined;
    let labels: (number | undefined)[];
    if (fmt === 'comma') {
      const fields = content.split(',').map((f) => f.trim());
      if (fields.length < 3) throw new ListParseError(file, line, `expected "video,num_frames,label[,label2,...]", got "${content}"`);
      path = fields[0]!;
      frames = integer(fields[1]);
      labels = fields
        .slice(2)
        .filter((f) => f !== '')
        .map(integer);
    } else {
      const fields = content.split(/\s+/);
      if (fields.length < 3) throw new ListParseError(file, line, `expected "path num_frames label", got "${content}"`);
      const m = /^(.*\S)\s+(\S+)\s+(\S+)$/.exec(content)!;
      path = m[1]!;
      frames = integer(m[2]);
      labels = [integer(m[3])];
    }
    if (path === '') throw new ListParseError(file, line, 'empty video path');
    if (frames === undefined || frames < 0) throw new ListParseError(file, line, `num_frames is not a non-negative integer in "${content}"`);
    if (labels.length === 0 || labels.some((l) => l === undefined)) throw new ListParseError(file, line, `label is not an integer in "${content}"`);
    for (const l of labels as number[]) {
      if (l < 0 || (numClasses !== undefined && l >= numClasses)) {
        throw new ListParseError(file, line, `label ${l} is outside the ${numClasses ?? '?'} classes (0..${numClasses === undefined ? '?' : numClasses - 1})`);
      }
    }
    entries.push({ path, frames, labels: labels as number[], line });
  });
  return entries;
}

/** classInd.txt ("1 name", 1-based, as UCF101) or category.txt (one name per line). Returns names by 0-based label. */
export function parseClassIndex(text: string, file: string): string[] {
  const lines = text
    .split(/\r?\n/)
    .map((l, i) => [l.trim(), i + 1] as const)
    .filter(([l]) => l !== '');
  if (lines.length === 0) throw new ListParseError(file, 1, 'no classes');
  const indexed = lines.every(([l]) => /^\d+\s+\S/.test(l));
  if (!indexed) return lines.map(([l]) => l);
  const names: string[] = [];
  const base = Math.min(...lines.map(([l]) => Number(l.split(/\s+/)[0])));
  for (const [l, line] of lines) {
    const m = /^(\d+)\s+(.+)$/.exec(l)!;
    const idx = Number(m[1]) - base;
    if (names[idx] !== undefined) throw new ListParseError(file, line, `class index ${m[1]} appears twice`);
    names[idx] = m[2]!;
  }
  const hole = names.findIndex((n) => n === undefined);
  if (hole >= 0 || names.length !== lines.length) throw new ListParseError(file, lines.length, `class indices are not contiguous (missing ${hole + base})`);
  return names;
}

export async function readList(file: string, options: { format?: ListFormat | 'auto'; numClasses?: number } = {}): Promise<ListEntry[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new VideoFileError(file, `list cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  return parseList(text, file, options.format ?? 'auto', options.numClasses);
}

export async function readClassIndex(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new VideoFileError(file, `class index cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  return parseClassIndex(text, file);
}

const VIDEO_EXTENSIONS = ['.mp4', '.webm', '.avi', '.mkv', '.mov', '.m4v', '.mpg', '.mpeg', '.gif'];

/** A folder of videos with one sub-folder per class (classes sorted by name, as torchvision's DatasetFolder). */
export async function scanClassFolders(root: string, extensions = VIDEO_EXTENSIONS): Promise<{ classes: string[]; entries: ListEntry[] }> {
  let dirs;
  try {
    dirs = (await readdir(root, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch (error) {
    throw new VideoFileError(root, `folder cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const entries: ListEntry[] = [];
  for (const [label, dir] of dirs.entries()) {
    const files = (await readdir(join(root, dir))).filter((f) => extensions.includes(extname(f).toLowerCase())).sort();
    for (const f of files) entries.push({ path: join(dir, f), frames: 0, labels: [label], line: 0 });
  }
  return { classes: dirs, entries };
}
