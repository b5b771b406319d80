// @saccade/sdk/browser bundles for the browser with nothing that needs Node: no ffmpeg, no sharp,
// no file system, no vega (reports), none of @saccade/video but its browser entry's geometry and
// sampling, and none of the SDK's node/ folder.
// esbuild with platform 'browser' fails on Node built-ins; what reaches the output is read from its
// metafile (inputs with bytes in the output, after tree shaking).
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

describe('@saccade/sdk/browser', () => {
  it('bundles for the browser without anything that needs Node', async () => {
    const r = await build({
      entryPoints: [fileURLToPath(new URL('./browser.ts', import.meta.url))],
      bundle: true,
      format: 'esm',
      platform: 'browser',
      conditions: ['@saccade/source'],
      write: false,
      metafile: true,
      outfile: 'browser-bundle.js',
      logLevel: 'silent',
      // Paths in the metafile relative to the repository root.
      absWorkingDir: fileURLToPath(new URL('../../..', import.meta.url)),
    });
    const output = Object.values(r.metafile.outputs)[0]!;
    const used = Object.entries(output.inputs)
      .filter(([, v]) => v.bytesInOutput > 0)
      .map(([k]) => k);
    expect(used.some((i) => i === 'packages/sdk/src/browser.ts')).toBe(true);
    // Of @saccade/video, only what its browser entry (@saccade/video/browser) is made of: frame
    // geometry, sampling and their errors, which need no ffmpeg and no file system.
    const browserVideo = ['packages/video/src/geometry.ts', 'packages/video/src/sampling.ts', 'packages/video/src/errors.ts'];
    const forbidden = used.filter(
      (i) =>
        !browserVideo.includes(i) &&
        /packages\/video\/|@saccade\/video|vega|sharp|@ffmpeg-installer|@ffprobe-installer|playwright|\/src\/node\/|^node:/.test(i),
    );
    expect(forbidden).toEqual([]);
    expect(used.filter((i) => i.startsWith('packages/video/')).sort()).toEqual([...browserVideo].sort());
  });
});
