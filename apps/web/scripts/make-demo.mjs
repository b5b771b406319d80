#!/usr/bin/env node
// Makes the web app's shipped demo (public/demo) from a `saccade demo` run with the project's own
// tools: the AdaFocusV2 bundle it trained (copied as saved, hashes and calibrated exits included)
// and a few of its validation videos as lossless RGB VP9 WebM (Chromium decodes it, and so does
// ffmpeg, to the same bytes), one per class, plus one padded to 176x128 so that the app shows a frame of another aspect centre-
// cropped to the model's square. samples.json lists each clip with its frame count and rate as
// ffprobe reports them (what the Node decoder samples from).
//
//   node scripts/make-demo.mjs [--run ../../runs/demo] [--clips 4]
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { execFile } from 'node:child_process';

import { locateFfmpeg, probe } from '@saccade/video';

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { run: { type: 'string', default: join(here, '../../../runs/demo') }, clips: { type: 'string', default: '4' } } });
const demo = resolve(values.run);
const out = join(here, '../public/demo');
const temp = `${out}.tmp-${process.pid}`;
await rm(temp, { recursive: true, force: true });
await mkdir(join(temp, 'samples'), { recursive: true });

const bundle = join(demo, 'runs/v2-s0/model');
await cp(bundle, join(temp, 'model'), { recursive: true });
const meta = JSON.parse(await readFile(join(bundle, 'saccade.json'), 'utf8'));
if (!meta.exit?.budgets?.length) throw new Error(`${bundle} has no calibrated exit budgets: run the whole \`saccade demo\` first`);

// val_list.txt: "videos/val_00000.mp4 <frames> <label, 0-based>" lines; classInd.txt: "<index, 1-based> <name>".
const data = join(demo, 'data');
const classes = (await readFile(join(data, 'classInd.txt'), 'utf8'))
  .trim()
  .split('\n')
  .map((l) => l.trim().split(/\s+/).slice(1).join(' '));
const lines = (await readFile(join(data, 'val_list.txt'), 'utf8')).trim().split('\n');
const wanted = Number(values.clips);
const picked = [];
const seen = new Set();
for (const line of lines) {
  const parts = line.trim().split(/\s+/);
  const label = Number(parts.at(-1));
  if (seen.has(label)) continue;
  seen.add(label);
  picked.push({ path: join(data, parts[0]), label });
  if (picked.length === wanted) break;
}

const { ffmpeg } = await locateFfmpeg();
const samples = [];
for (const [n, p] of picked.entries()) {
  // The last clip: 24 px of grey on each side (176x128), the picture itself unscaled.
  const wide = n === picked.length - 1;
  const name = `${classes[p.label]}${wide ? ' (wide)' : ''}`.replace(/_/g, ' ').replace(/[^A-Za-z0-9 ()-]/g, '');
  const file = `clip${n + 1}${wide ? '-wide' : ''}.webm`;
  const target = join(temp, 'samples', file);
  const args = [
    '-v',
    'error',
    '-y',
    '-i',
    p.path,
    ...(wide ? ['-vf', 'pad=176:128:24:0:color=gray'] : []),
    '-an',
    '-c:v',
    'libvpx-vp9',
    // Lossless RGB (VP9 profile 1): no YUV-to-RGB conversion, whose rounding differs between
    // Chromium and ffmpeg by one level in about half the pixels, so the page and Node read the
    // same bytes. About 50 KB a clip.
    '-lossless',
    '1',
    '-pix_fmt',
    'gbrp',
    target,
  ];
  await promisify(execFile)(ffmpeg.path, args);
  const info = await probe(target);
  samples.push({ name, file, label: name.replace(' (wide)', ''), frames: info.frames, fps: info.fps, width: info.width, height: info.height });
}
await writeFile(join(temp, 'samples', 'samples.json'), `${JSON.stringify(samples, null, 2)}\n`);
await rm(out, { recursive: true, force: true });
await rename(temp, out);
console.log(`wrote ${out}: the model (${meta.method}, ${meta.classes.length} classes) and ${samples.length} clips`);
