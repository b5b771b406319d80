// The same bundle loads in a browser: headless Chromium (Debian's package; CHROMIUM_PATH overrides)
// driven by playwright-core, the page bundled from @saccade/sdk/browser with esbuild.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as tf from '@tensorflow/tfjs';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { inOrder, TOY, toyDataset } from '../test/toy.js';
import { createVideoNet } from './create.js';
import { normalise } from './dataset.js';
import { saveBundle } from './node/bundle.js';

// CHROMIUM_PATH, when set, is the only candidate (so that a wrong one is reported, not bypassed).
const CANDIDATES = process.env.CHROMIUM_PATH ? [process.env.CHROMIUM_PATH] : ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
const executable = CANDIDATES.find((p) => existsSync(p));

let dir: string;
let server: Server;
let base: string;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!executable)
    throw new Error(`no Chromium found (tried ${CANDIDATES.join(', ')}); install Debian's chromium package (npm test does as root) or set CHROMIUM_PATH`);
  dir = await mkdtemp(join(tmpdir(), 'saccade-browser-'));
  await build({
    entryPoints: [fileURLToPath(new URL('../test/browser-page.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['@saccade/source'],
    outfile: join(dir, 'page.js'),
    logLevel: 'error',
  });
  const types: Record<string, string> = { '.js': 'text/javascript', '.json': 'application/json', '.html': 'text/html', '.bin': 'application/octet-stream' };
  server = createServer(async (req, res) => {
    const path = normalize(join(dir, decodeURIComponent(new URL(req.url!, 'http://x').pathname)));
    if (!path.startsWith(dir) || !existsSync(path)) {
      res.writeHead(404).end();
      return;
    }
    if (path.endsWith('/') || !extname(path)) {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/page.js"></script>');
      return;
    }
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(await readFile(path));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  browser = await chromium.launch({ executablePath: executable, args: ['--no-sandbox', '--headless=new'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  // With no Chromium, beforeAll threw before the server existed: nothing to close (a promise on
  // an absent server's close would never settle and wait out the hook timeout).
  if (server) await new Promise((resolve) => server.close(resolve));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('bundles in the browser', () => {
  it('a bundle saved in Node loads in headless Chromium with @saccade/sdk/browser and gives the same logits', async () => {
    const data = toyDataset(3, 4);
    const videos = [0, 1, 2].map((i) => data.video(i));
    const net = createVideoNet(TOY, 3);
    const expected = tf.tidy(() => Array.from(net.forward(normalise(inOrder(net, videos), 4, 32, net.config)).logits.dataSync()));
    await saveBundle(net, join(dir, 'model'), { classes: ['red', 'green', 'blue'] });
    net.dispose();
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/`);
    await page.waitForFunction(() => typeof window.saccadeRun === 'function', undefined, { timeout: 60_000 });
    const r = (await page.evaluate(([url, v]) => window.saccadeRun(url, v, { frames: 4, width: 32, height: 32 }), [
      `${base}/model`,
      videos.map((v) => Array.from(v)),
    ] as [string, number[][]])) as {
      backend: string;
      logits: number[];
      label: string;
      exitStep: number;
      patches: number;
      error?: string;
    };
    expect(errors).toEqual([]);
    expect(r.error).toBeUndefined();
    expect(r.backend).toBe('cpu');
    expect(r.logits).toHaveLength(expected.length);
    r.logits.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 3));
    expect(['red', 'green', 'blue']).toContain(r.label);
    expect([r.exitStep, r.patches]).toEqual([4, 4]);

    // A missing shard is a BundleError in the browser too.
    const shard = (await readdir(join(dir, 'model', 'focus'))).find((f) => f.endsWith('.bin'))!;
    await rm(join(dir, 'model', 'focus', shard));
    const bad = (await page.evaluate(([url, v]) => window.saccadeRun(url, v, { frames: 4, width: 32, height: 32 }), [
      `${base}/model`,
      [Array.from(videos[0]!)],
    ] as [string, number[][]])) as { error?: string; bundleError?: boolean };
    expect(bad.bundleError).toBe(true);
    expect(bad.error).toMatch(/focus/);
    await page.close();
  }, 180_000);
});
