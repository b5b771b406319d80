// The web app in headless Chromium (Debian's package; CHROMIUM_PATH overrides) through
// playwright-core: built with Vite, served by Vite's preview server, it classifies the shipped
// sample clips, and what it finds must be what the SDK finds in Node for the same files (same
// label and exit step, patch boxes within 1 px). Saves a screenshot to test-artifacts/app.png.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { loadModel, type ClassifyResult, type SaccadeModel } from '@saccade/sdk';
import { initBackend } from '@saccade/tensor';
import { decodeFrames, uniformSample } from '@saccade/video';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const app = fileURLToPath(new URL('..', import.meta.url));
const demo = join(app, 'public/demo');
const artifacts = join(app, 'test-artifacts');
const CANDIDATES = process.env.CHROMIUM_PATH ? [process.env.CHROMIUM_PATH] : ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
const executable = CANDIDATES.find((p) => existsSync(p));

interface Sample {
  name: string;
  file: string;
  frames: number;
  fps: number;
  width: number;
  height: number;
}

interface PageState {
  status: string;
  backend: string;
  error?: string;
  budgetGflops?: number;
  decoded: { frameCount: number; fps: number; fpsMeasured: boolean; width: number; height: number; sourceIndices: number[] };
  result: ClassifyResult;
  maps: { width: number; height: number; max: number; length: number }[];
  input: number[];
  decodeMs: number;
  fullFrameGflops: number;
  runs: number;
}

let out: string;
let server: PreviewServer;
let base: string;
let browser: Browser | undefined;
let model: SaccadeModel;
let samples: Sample[];

beforeAll(async () => {
  if (!executable)
    throw new Error(`no Chromium found (tried ${CANDIDATES.join(', ')}); install Debian's chromium package (npm test does as root) or set CHROMIUM_PATH`);
  out = await mkdtemp(join(tmpdir(), 'saccade-web-'));
  const config = { root: app, configFile: join(app, 'vite.config.ts'), logLevel: 'error' as const, build: { outDir: out, emptyOutDir: true } };
  await build(config);
  server = await preview({ ...config, preview: { host: '127.0.0.1', port: 0, strictPort: false } });
  base = server.resolvedUrls!.local[0]!.replace(/\/$/, '');
  browser = await chromium.launch({ executablePath: executable, args: ['--no-sandbox', '--headless=new', '--autoplay-policy=no-user-gesture-required'] });
  samples = JSON.parse(await readFile(join(demo, 'samples/samples.json'), 'utf8')) as Sample[];
  await initBackend('wasm');
  model = await loadModel(join(demo, 'model'));
}, 300_000);

afterAll(async () => {
  model?.dispose();
  await browser?.close();
  await server?.close();
  if (out) await rm(out, { recursive: true, force: true });
});

async function open(query: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser!.newPage({ viewport: { width: 1040, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/?${query}`);
  return { page, errors };
}

/** Wait for run number `runs` to finish and read the page's state. */
async function finished(page: Page, runs = 1): Promise<PageState> {
  await page.waitForFunction((n) => window.saccade.status === 'error' || (window.saccade.status === 'done' && window.saccade.runs >= n), runs, {
    timeout: 180_000,
  });
  return page.evaluate(() => {
    const s = window.saccade;
    return {
      status: s.status,
      backend: s.backend!,
      ...(s.error ? { error: s.error } : {}),
      ...(s.budgetGflops !== undefined ? { budgetGflops: s.budgetGflops } : {}),
      decoded: s.decoded!,
      result: s.result!,
      maps: s.steps.map((step) => ({ width: step.map!.width, height: step.map!.height, max: Math.max(...step.map!.values), length: step.map!.values.length })),
      fullFrameGflops: s.fullFrameGflops!,
      input: Array.from(s.input!),
      decodeMs: s.decodeMs!,
      runs: s.runs,
    };
  }) as Promise<PageState>;
}

/** Checks the page's result against Node's; returns the largest difference of a patch box (px). */
function expectSame(got: ClassifyResult, want: ClassifyResult): number {
  expect(got.label).toBe(want.label);
  expect(got.exitStep).toBe(want.exitStep);
  expect(got.trace.map((t) => [t.frame, t.sourceIndex])).toEqual(want.trace.map((t) => [t.frame, t.sourceIndex]));
  got.trace.forEach((t, k) => {
    expect(t.label).toBe(want.trace[k]!.label);
    expect(Math.abs(t.probability - want.trace[k]!.probability)).toBeLessThan(1e-4);
  });
  expect(got.patches).toHaveLength(want.patches.length);
  let worst = 0;
  got.patches.forEach((p, k) => {
    const q = want.patches[k]!;
    const [a, b] = [p.source!, q.source!];
    const d = Math.max(Math.abs(p.x - q.x), Math.abs(p.y - q.y), ...(['x', 'y', 'width', 'height'] as const).map((key) => Math.abs(a[key] - b[key])));
    worst = Math.max(worst, d);
    expect(d).toBeLessThanOrEqual(1);
  });
  expect(got.probability).toBeCloseTo(want.probability, 1);
  expect(got.gflops).toBeCloseTo(want.gflops, 9);
  return worst;
}

describe('the web app', () => {
  it('classifies each shipped clip as the SDK does in Node: same label, exit step and frames, patch boxes within 1 px', async () => {
    await mkdir(artifacts, { recursive: true });
    for (const [n, sample] of samples.entries()) {
      const { page, errors } = await open(`backend=wasm&delay=0&sample=${encodeURIComponent(sample.name)}`);
      const state = await finished(page);
      expect(state.error).toBeUndefined();
      expect(errors).toEqual([]);
      expect(state.backend).toBe('wasm');
      expect([state.decoded.width, state.decoded.height, state.decoded.frameCount]).toEqual([sample.width, sample.height, sample.frames]);
      // The pixels: Chromium's decode against ffmpeg's. The clips are lossless RGB VP9, so no
      // colour conversion stands between the stream and either side: the same bytes.
      const { frames: t, frameSize: s } = model.meta;
      const node = await decodeFrames(join(demo, 'samples', sample.file), {
        indices: uniformSample(sample.frames, t),
        width: s,
        height: s,
        fit: model.meta.config.fit,
      });
      const diff = state.input.map((v, i) => Math.abs(v - node.data[i]!));
      expect(diff.reduce((a, b) => Math.max(a, b), 0)).toBe(0);
      console.log(
        `${sample.name}: browser vs ffmpeg pixels: max |diff| ${diff.reduce((a, b) => Math.max(a, b), 0)}, mean ${(diff.reduce((a, b) => a + b, 0) / diff.length).toFixed(3)}`,
      );
      const want = await model.classify(join(demo, 'samples', sample.file), {
        topK: 3,
        ...(state.budgetGflops !== undefined ? { budgetGflops: state.budgetGflops } : {}),
      });
      const worst = expectSame(state.result, want);
      console.log(
        `${sample.name}: exit at step ${want.exitStep}, ${want.label}; patch boxes differ by at most ${worst.toFixed(3)} px; decoded in ${state.decodeMs.toFixed(0)} ms`,
      );
      // The source frame's pixels: a wide clip is centre-cropped, so its boxes sit 24 px right of the square's.
      expect(state.result.frame).toEqual(want.frame);
      // A heat map at every step that ran: the policy's map, scaled to a maximum of 1.
      expect(state.maps).toHaveLength(state.result.exitStep);
      for (const m of state.maps) {
        expect(m.length).toBe(m.width * m.height);
        expect(m.max).toBeCloseTo(1, 5);
      }
      expect(state.fullFrameGflops).toBeCloseTo(model.fullFrameGflops(), 9);
      if (n === 0) {
        // Early exit under the default budget stops before the last step on this clip.
        expect(state.budgetGflops).toBeDefined();
        await page.screenshot({ path: join(artifacts, 'app.png'), fullPage: true });
        // The budget slider's last position: no early exit, every step.
        await page.evaluate(() => {
          const slider = document.querySelector('#budget') as HTMLInputElement;
          slider.value = slider.max;
          slider.dispatchEvent(new Event('change'));
        });
        const all = await finished(page, 2);
        expect(all.budgetGflops).toBeUndefined();
        expect(all.result.exitStep).toBe(model.meta.steps);
        const drift = expectSame(all.result, await model.classify(join(demo, 'samples', sample.file), { topK: 3 }));
        console.log(`${sample.name}, every step: patch boxes differ by at most ${drift.toFixed(3)} px`);
        expect(all.result.gflops).toBeCloseTo(model.meta.gflopsPerVideo, 9);
      }
      await page.close();
    }
  }, 600_000);

  it('a video given as a file: its frame rate is measured from the stream, and the result is the same', async () => {
    const sample = samples[0]!;
    // No backend asked for: webgl where a GPU backs it, else wasm, and the page says which and why.
    const { page, errors } = await open('delay=0');
    await page.waitForFunction(() => window.saccade.status === 'ready' || window.saccade.status === 'error', undefined, { timeout: 120_000 });
    const backend = await page.evaluate(() => window.saccade.backend!);
    expect(['webgl', 'wasm']).toContain(backend);
    expect(await page.textContent('#backend')).toBe(`tfjs ${backend}`);
    if (backend === 'wasm') expect(await page.getAttribute('#backend', 'title')).toMatch(/WebGL here is software|did not start/);
    await page.setInputFiles('#file', join(demo, 'samples', sample.file));
    const state = await finished(page);
    expect(state.error).toBeUndefined();
    expect(errors).toEqual([]);
    expect(state.backend).toBe(backend);
    expect(state.decoded.fpsMeasured).toBe(true);
    expect(state.decoded.fps).toBeCloseTo(sample.fps, 3);
    expect(state.decoded.frameCount).toBe(sample.frames);
    const want = await model.classify(join(demo, 'samples', sample.file), {
      topK: 3,
      ...(state.budgetGflops !== undefined ? { budgetGflops: state.budgetGflops } : {}),
    });
    expectSame(state.result, want);
    await page.close();
  }, 300_000);

  it('a file the browser cannot decode is an error on the page, not a hang', async () => {
    const { page } = await open('backend=wasm&delay=0');
    await page.waitForFunction(() => window.saccade.status === 'ready', undefined, { timeout: 120_000 });
    await page.setInputFiles('#file', { name: 'notes.webm', mimeType: 'video/webm', buffer: Buffer.from('not a video at all') });
    await page.waitForFunction(() => window.saccade.status === 'error', undefined, { timeout: 60_000 });
    const error = await page.evaluate(() => window.saccade.error);
    expect(error).toMatch(/notes\.webm: .*cannot decode/);
    expect(await page.textContent('#result')).toContain('notes.webm');
    await page.close();
  }, 120_000);
});
