/**
 * The Saccade web app: loads the shipped demo bundle over http with @saccade/sdk/browser, decodes
 * a sample clip or a dropped video in the browser, and runs the model one step at a time, drawing
 * each step's policy map, patch and class probabilities, with early exit under a GFLOPs budget.
 *
 * URL parameters: `backend=webgl|wasm|cpu` (default: webgl where a GPU backs it, else wasm), `delay=MS` (pause between drawn steps, default 350), `sample=NAME` (classify it at once).
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { loadModel, type ClassifyResult, type ClassifyStep, type SaccadeModel } from '@saccade/sdk/browser';
import { registerWasmKernels } from '@saccade/tensor';

import { decodeVideo, type DecodedVideo } from './decode.js';
import { drawChart, drawFrame, escapeHtml } from './draw.js';
import './style.css';

interface Sample {
  name: string;
  file: string;
  /** The clip's class in the demo set (shown, not used). */
  label: string;
  frames: number;
  fps: number;
  width: number;
  height: number;
}

/** What the page exposes for its test and for anyone scripting it. */
export interface AppState {
  status: 'loading' | 'ready' | 'decoding' | 'running' | 'done' | 'error';
  backend?: string;
  video?: string;
  decoded?: { frameCount: number; fps: number; fpsMeasured: boolean; width: number; height: number; sourceIndices: number[] };
  /** The model's input as decoded here: T x S x S x 3 bytes. */
  input?: Uint8Array;
  budgetGflops?: number;
  steps: ClassifyStep[];
  result?: ClassifyResult;
  fullFrameGflops?: number;
  error?: string;
  runs: number;
  /** Milliseconds to decode the last video (seek, draw, resize). */
  decodeMs?: number;
}

declare global {
  interface Window {
    saccade: AppState;
  }
}

const params = new URLSearchParams(location.search);
const BASE = import.meta.env.BASE_URL;
const MODEL_URL = new URL(`${BASE}demo/model`, location.href).href;
const state: AppState = { status: 'loading', steps: [], runs: 0 };
window.saccade = state;

const $ = <T extends Element>(selector: string) => document.querySelector(selector) as T;
const view = $<HTMLCanvasElement>('#view');
const caption = $<HTMLElement>('#caption');
const chart = $<SVGSVGElement>('#chart');
const legend = $<HTMLElement>('#legend');
const strip = $<HTMLElement>('#strip');
const resultBox = $<HTMLElement>('#result');
const budget = $<HTMLInputElement>('#budget');
const budgetLabel = $<HTMLElement>('#budget-label');

/**
 * The WebGL renderer when it is a software one (SwiftShader, llvmpipe: headless browsers and
 * machines without a GPU), where tfjs on webgl runs about 20 times slower than on wasm.
 */
function softwareWebgl(): string | undefined {
  const gl = document.createElement('canvas').getContext('webgl2') ?? document.createElement('canvas').getContext('webgl');
  if (!gl) return undefined;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const renderer = String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
  return /swiftshader|llvmpipe|softpipe|software/i.test(renderer) ? renderer : undefined;
}

/**
 * webgl where the browser has a GPU behind it, else wasm (Saccade's wasm kernels registered as in
 * Node), else cpu; `?backend=` forces one. Returns the backend and why.
 */
async function chooseBackend(): Promise<{ name: string; why: string }> {
  setWasmPaths({ 'tfjs-backend-wasm.wasm': wasmPlain, 'tfjs-backend-wasm-simd.wasm': wasmSimd, 'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded });
  const wanted = params.get('backend');
  const software = wanted ? undefined : softwareWebgl();
  const order = wanted ? [wanted] : software ? ['wasm', 'webgl', 'cpu'] : ['webgl', 'wasm', 'cpu'];
  const skipped: string[] = [];
  for (const name of order) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        if (name === 'wasm') registerWasmKernels();
        const why = wanted
          ? 'asked for in the URL'
          : software && name === 'wasm'
            ? `WebGL here is software (${software})`
            : skipped.length
              ? `${skipped.join(', ')} did not start`
              : 'the fastest here';
        return { name, why };
      }
    } catch {
      // Not offered here: the next one.
    }
    skipped.push(name);
  }
  throw new Error(`no tfjs backend of ${order.join(', ')} initialised in this browser`);
}

function setError(message: string): void {
  state.status = 'error';
  state.error = message;
  resultBox.innerHTML = `<span class="error">${escapeHtml(message)}</span>`;
}

let model: SaccadeModel;
let decoded: DecodedVideo | undefined;
let runId = 0;

function budgets(): { target: number; label: string }[] {
  const list = [...(model.meta.exit?.budgets ?? [])].sort((a, b) => a.targetGflops - b.targetGflops);
  return [
    ...list.map((b) => ({ target: b.targetGflops, label: `${b.targetGflops.toFixed(3)} GFLOPs (calibrated mean ${b.expectedGflops.toFixed(3)})` })),
    { target: Infinity, label: `no early exit (${model.meta.gflopsPerVideo.toFixed(3)} GFLOPs)` },
  ];
}

function budgetTarget(): number | undefined {
  const b = budgets()[Number(budget.value)];
  return b && Number.isFinite(b.target) ? b.target : undefined;
}

function showBudget(): void {
  budgetLabel.textContent = budgets()[Number(budget.value)]?.label ?? '';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));

/** Run the model on the decoded video step by step, drawing each step; a newer run cancels this one. */
async function run(): Promise<void> {
  if (!decoded) return;
  const id = ++runId;
  const video = decoded;
  const delay = Number(params.get('delay') ?? 350);
  const target = budgetTarget();
  state.status = 'running';
  state.steps = [];
  state.result = undefined;
  state.budgetGflops = target;
  strip.innerHTML = '';
  resultBox.textContent = '';
  // One thumbnail per step; a step that early exit skips stays a grey placeholder.
  const thumbs = Array.from({ length: model.meta.steps }, (_, k) => {
    const fig = document.createElement('figure');
    const c = document.createElement('canvas');
    const cap = document.createElement('figcaption');
    const g = video.input.geometry!;
    const side = 96 / Math.max(g.source.width, g.source.height);
    c.width = Math.round(g.source.width * side);
    c.height = Math.round(g.source.height * side);
    const ctx = c.getContext('2d')!;
    ctx.fillStyle = '#c9ced6';
    ctx.fillRect(0, 0, c.width, c.height);
    cap.textContent = `${k + 1}: not run`;
    fig.append(c, cap);
    fig.className = 'skipped';
    strip.append(fig);
    return { fig, canvas: c, cap };
  });
  const steps = model.classifySteps(video.input, { maps: true, topK: 3, ...(target !== undefined ? { budgetGflops: target } : {}) });
  let next = steps.next();
  while (!next.done) {
    const step = next.value;
    state.steps.push(step);
    const bitmap = video.frames[step.frame]!;
    drawFrame(view, { bitmap, geometry: video.input.geometry!, step, heat: true }, 480);
    const where = step.patch?.source;
    caption.textContent =
      `Step ${step.step}/${model.meta.steps}: frame ${step.sourceIndex ?? step.frame} of the video. ${step.label} ${(100 * step.probability).toFixed(1)}%` +
      (where ? `; patch at (${where.x.toFixed(0)}, ${where.y.toFixed(0)}), ${where.width.toFixed(0)}x${where.height.toFixed(0)} source px` : '') +
      (step.threshold !== undefined
        ? `; score ${step.score.toFixed(2)} vs exit threshold ${Number.isFinite(step.threshold) ? step.threshold.toFixed(2) : step.threshold}`
        : '');
    const t = thumbs[step.step - 1]!;
    drawFrame(t.canvas, { bitmap, geometry: video.input.geometry!, step, heat: false }, 96);
    t.fig.className = step.exit ? 'exit' : '';
    t.cap.textContent = `${step.step}: ${step.label} ${(100 * step.probability).toFixed(0)}%`;
    drawChart(chart, legend, state.steps, model.classes, model.meta.steps);
    await frame();
    if (delay > 0) await sleep(delay);
    if (id !== runId) {
      steps.return(undefined as never);
      return;
    }
    next = steps.next();
  }
  const r = next.value;
  state.result = r;
  state.fullFrameGflops = model.fullFrameGflops();
  state.status = 'done';
  state.runs += 1;
  const saved = state.fullFrameGflops / r.gflops;
  resultBox.innerHTML =
    `<b class="label">${escapeHtml(r.label)}</b> ${(100 * r.probability).toFixed(1)}% &middot; stopped at step <b>${r.exitStep}</b> of ${r.steps}` +
    ` &middot; <b>${r.gflops.toFixed(3)}</b> GFLOPs (all ${r.steps} steps: ${model.meta.gflopsPerVideo.toFixed(3)};` +
    ` a full-frame model: ${state.fullFrameGflops.toFixed(3)}, ${saved.toFixed(1)}x more)` +
    ` &middot; decode ${(state.decodeMs ?? 0).toFixed(0)} ms, inference ${r.timingsMs.inference.toFixed(0)} ms on ${escapeHtml(state.backend ?? '')}` +
    (r.topK.length > 1
      ? `<br>then ${r.topK
          .slice(1)
          .map((k) => `${escapeHtml(k.label)} ${(100 * k.probability).toFixed(1)}%`)
          .join(', ')}`
      : '');
}

async function classify(url: string, name: string, known?: { frameCount: number; fps: number }): Promise<void> {
  state.status = 'decoding';
  state.video = name;
  state.error = undefined;
  caption.textContent = `Decoding ${name}...`;
  try {
    decoded?.frames.forEach((b) => b.close());
    decoded = undefined;
    const started = performance.now();
    decoded = await decodeVideo(url, {
      frames: model.meta.frames,
      size: model.meta.frameSize,
      fit: model.meta.config.fit,
      ...(known ? { frameCount: known.frameCount, fps: known.fps } : {}),
    });
    state.decoded = {
      frameCount: decoded.frameCount,
      fps: decoded.fps,
      fpsMeasured: decoded.fpsMeasured,
      width: decoded.width,
      height: decoded.height,
      sourceIndices: decoded.input.sourceIndices!,
    };
    state.input = decoded.input.data;
    state.decodeMs = performance.now() - started;
    await run();
  } catch (error) {
    setError(`${name}: ${(error as Error).message}`);
  }
}

async function main(): Promise<void> {
  const backend = await chooseBackend();
  state.backend = backend.name;
  const label = $<HTMLElement>('#backend');
  label.textContent = `tfjs ${backend.name}`;
  label.title = `tfjs backend doing the inference: ${backend.name} (${backend.why})`;
  model = await loadModel(MODEL_URL);
  const list = budgets();
  budget.max = String(list.length - 1);
  // The first calibrated budget of at least half the full cost (the demo's own choice), else no exit.
  const start = list.findIndex((b) => b.target >= model.meta.gflopsPerVideo * 0.5);
  budget.value = String(start >= 0 ? start : list.length - 1);
  showBudget();
  budget.addEventListener('input', showBudget);
  budget.addEventListener('change', () => void run());

  const samples = (await (await fetch(`${BASE}demo/samples/samples.json`)).json()) as Sample[];
  const box = $<HTMLElement>('#samples');
  const buttons = samples.map((s) => {
    const b = document.createElement('button');
    b.textContent = s.name;
    b.title = `${s.label}: ${s.width}x${s.height}, ${s.frames} frames`;
    b.dataset.sample = s.name;
    b.addEventListener('click', () => {
      buttons.forEach((o) => o.setAttribute('aria-pressed', String(o === b)));
      void classify(`${BASE}demo/samples/${s.file}`, s.name, { frameCount: s.frames, fps: s.fps });
    });
    box.append(b);
    return b;
  });
  const file = $<HTMLInputElement>('#file');
  const useFile = (f: File | undefined) => {
    if (!f) return;
    buttons.forEach((o) => o.setAttribute('aria-pressed', 'false'));
    void classify(URL.createObjectURL(f), f.name);
  };
  file.addEventListener('change', () => useFile(file.files?.[0]));
  const drop = $<HTMLElement>('#drop');
  document.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  document.addEventListener('dragleave', () => drop.classList.remove('over'));
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    useFile(e.dataTransfer?.files[0]);
  });
  state.status = 'ready';
  caption.textContent = `Model: ${model.meta.method}, ${model.meta.frames} frames of ${model.meta.frameSize} px, ${model.meta.patchSize} px patches, ${model.classes.length} classes.`;
  const first = params.get('sample');
  if (first) buttons.find((b) => b.dataset.sample === first)?.click();
}

main().catch((error: Error) => setError(error.message));
