import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { writeAnnotatedVideo } from './annotate.js';
import { decodeFrames } from './decode.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'saccade-annotate-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const [W, H] = [96, 64];
const px = (d: Uint8Array, f: number, x: number, y: number) => Array.from(d.subarray(((f * H + y) * W + x) * 3, ((f * H + y) * W + x) * 3 + 3));
const isGreen = ([r, g, b]: number[]) => g! > 150 && r! < 110 && b! < 130;

describe('annotated videos', () => {
  it('draws each frame its boxes and text (any characters), and encodes mp4 and GIF atomically', async () => {
    const frames = new Uint8Array(3 * W * H * 3).fill(128);
    const overlays = [
      { text: ["it's: 50% \\ done, [a]=b; 'quoted' – ünïcode"], boxes: [{ x: 70, y: 4, width: 20, height: 12 }] },
      { boxes: [{ x: 40, y: 20, width: 30, height: 24 }] },
      { text: ['step 3/3', 'EXIT'], boxes: [{ x: -10, y: 50, width: 30, height: 40 }] },
    ];
    for (const name of ['a.mp4', 'a.gif']) {
      const file = join(dir, name);
      await writeAnnotatedVideo(file, frames, { width: W, height: H, fps: 2, overlays, crf: 0 });
      const d = await decodeFrames(file);
      expect(d.frames).toBe(3);
      // The box on frame 1: its outline is green, its inside and the rest stay grey.
      for (const [x, y] of [
        [40, 20],
        [69, 43],
        [55, 20],
        [40, 32],
      ] as const)
        expect(isGreen(px(d.data, 1, x, y)), `${name} (${x},${y}) ${px(d.data, 1, x, y)}`).toBe(true);
      for (const [x, y] of [
        [55, 32],
        [10, 10],
        [90, 60],
      ] as const)
        expect(isGreen(px(d.data, 1, x, y))).toBe(false);
      // A box over the text is drawn over it.
      expect(isGreen(px(d.data, 0, 80, 14)), `${name} ${px(d.data, 0, 80, 14)}`).toBe(true);
      // A box past the frame's edge is clipped, not an error.
      expect(isGreen(px(d.data, 2, 0, 55))).toBe(true);
      // Text: a dark band with bright glyphs in the top-left corner of frames 0 and 2 only.
      const band = (f: number) => {
        let dark = 0;
        let bright = 0;
        for (let y = 2; y < 14; y++)
          for (let x = 2; x < 60; x++) {
            const v = px(d.data, f, x, y)[0]!;
            if (v < 90) dark++;
            if (v > 200) bright++;
          }
        return { dark, bright };
      };
      for (const f of [0, 2]) {
        expect(band(f).dark, `${name} frame ${f}`).toBeGreaterThan(50);
        expect(band(f).bright, `${name} frame ${f}`).toBeGreaterThan(10);
      }
      expect(band(1)).toEqual({ dark: 0, bright: 0 });
    }
    // Nothing but the two outputs is left behind.
    expect((await readdir(dir)).sort()).toEqual(['a.gif', 'a.mp4']);
    await expect(writeAnnotatedVideo(join(dir, 'b.mp4'), frames, { width: W, height: H, overlays: [{}, {}, {}, {}] })).rejects.toThrow(
      /4 overlays for 3 frames/,
    );
  });
});
