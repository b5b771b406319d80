// The page's resize (area averaging, as ffmpeg's flags=area) against ffmpeg's own on a real frame.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { locateFfmpeg } from '@saccade/video';
import { describe, expect, it } from 'vitest';

import { areaResize } from './decode.js';

const clip = fileURLToPath(new URL('../public/demo/samples/clip4-wide.webm', import.meta.url));

function ffmpegFrame(ffmpeg: string, filter: string, pixFmt: 'rgba' | 'rgb24'): Buffer {
  return execFileSync(ffmpeg, ['-v', 'error', '-i', clip, '-vf', `${filter}select=eq(n\\,5)`, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', pixFmt, '-']);
}

describe('areaResize', () => {
  it('shrinks a frame as ffmpeg scale=...:flags=area does, to within one level, at whole and fractional ratios', async () => {
    const { ffmpeg } = await locateFfmpeg();
    const source = ffmpegFrame(ffmpeg.path, '', 'rgba');
    expect(source.length).toBe(176 * 128 * 4);
    for (const [w, h] of [
      [88, 64],
      [99, 72],
      [128, 93],
    ] as const) {
      const want = ffmpegFrame(ffmpeg.path, `scale=${w}:${h}:flags=area,`, 'rgb24');
      const got = areaResize(new Uint8ClampedArray(source.buffer, source.byteOffset, source.byteLength), 176, 128, w, h);
      expect(got).toHaveLength(want.length);
      let worst = 0;
      let sum = 0;
      got.forEach((v, i) => {
        const d = Math.abs(Math.round(v) - want[i]!);
        worst = Math.max(worst, d);
        sum += d;
      });
      console.log(`176x128 -> ${w}x${h}: max |diff| ${worst}, mean ${(sum / got.length).toFixed(3)} levels`);
      expect(worst).toBeLessThanOrEqual(1);
    }
  });
});
