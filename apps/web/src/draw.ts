/** Drawing: the frame with the policy's heat map and the patch, the step strip, the probability chart. */
import type { ClassifyStep } from '@saccade/sdk/browser';
import { toSourcePixels, type FrameGeometry } from '@saccade/video/browser';

/** A perceptual ramp from transparent blue to opaque yellow (value 0..1 -> RGBA). */
function heat(v: number): [number, number, number, number] {
  const stops: [number, number, number][] = [
    [48, 18, 120],
    [190, 40, 110],
    [250, 130, 30],
    [252, 240, 90],
  ];
  const t = Math.min(1, Math.max(0, v)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(t));
  const f = t - i;
  const [a, b] = [stops[i]!, stops[i + 1]!];
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2]), Math.round(40 + 140 * v)];
}

/** Where the model's frame lies in the source frame's pixels. */
function modelRect(g: FrameGeometry): { x: number; y: number; w: number; h: number } {
  const [x0, y0] = toSourcePixels(g, 0, 0);
  const [x1, y1] = toSourcePixels(g, g.output.width, g.output.height);
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

export interface FrameDrawing {
  bitmap: ImageBitmap;
  geometry: FrameGeometry;
  step?: ClassifyStep;
  /** Draw the heat map (the policy's map, when the step has one). */
  heat?: boolean;
}

/** Draw a source frame scaled into `canvas` (kept to the frame's aspect), with the step's map and patch. */
export function drawFrame(canvas: HTMLCanvasElement, d: FrameDrawing, maxSide: number): void {
  const { width: sw, height: sh } = d.geometry.source;
  const scale = maxSide / Math.max(sw, sh);
  canvas.width = Math.round(sw * scale);
  canvas.height = Math.round(sh * scale);
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(d.bitmap, 0, 0, canvas.width, canvas.height);
  const seen = modelRect(d.geometry);
  // Shade what the model does not see (outside a centre crop).
  ctx.fillStyle = 'rgba(0, 0, 0, 0.55)';
  const [x0, y0, x1, y1] = [Math.max(0, seen.x), Math.max(0, seen.y), Math.min(sw, seen.x + seen.w), Math.min(sh, seen.y + seen.h)].map((v) => v * scale) as [
    number,
    number,
    number,
    number,
  ];
  ctx.fillRect(0, 0, canvas.width, y0);
  ctx.fillRect(0, y1, canvas.width, canvas.height - y1);
  ctx.fillRect(0, y0, x0, y1 - y0);
  ctx.fillRect(x1, y0, canvas.width - x1, y1 - y0);
  const step = d.step;
  if (!step) return;
  if (d.heat && step.map) {
    const { width: w, height: h, values } = step.map;
    const small = new OffscreenCanvas(w, h);
    const sctx = small.getContext('2d')!;
    const image = sctx.createImageData(w, h);
    values.forEach((v, i) => image.data.set(heat(v), i * 4));
    sctx.putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(small, seen.x * scale, seen.y * scale, seen.w * scale, seen.h * scale);
  }
  const box = step.patch?.source;
  if (box) {
    const lw = Math.max(2, canvas.width / 160);
    ctx.lineWidth = lw;
    ctx.strokeStyle = step.exit ? '#ff6b1a' : '#3cf0ff';
    ctx.strokeRect(box.x * scale, box.y * scale, box.width * scale, box.height * scale);
  }
}

const COLOURS = ['#2b6cb0', '#d9480f', '#2f9e44', '#9c36b5', '#e8590c', '#0c8599'];

/** The probability of the classes leading at the last step, over the steps so far (SVG). */
export function drawChart(svg: SVGSVGElement, legend: HTMLElement, steps: readonly ClassifyStep[], classes: readonly string[], total: number): void {
  const [W, H, L, B, T, R] = [360, 220, 34, 24, 10, 10];
  const x = (k: number) => L + ((W - L - R) * (k - 1)) / Math.max(1, total - 1);
  const y = (p: number) => T + (H - T - B) * (1 - p);
  const last = steps.at(-1);
  const shown = last
    ? last.probabilities
        .map((p, i) => [p, i] as const)
        .sort((a, b) => b[0] - a[0])
        .slice(0, 3)
        .map(([, i]) => i)
    : [];
  const parts: string[] = [];
  for (const p of [0, 0.5, 1])
    parts.push(
      `<line x1="${L}" x2="${W - R}" y1="${y(p)}" y2="${y(p)}" stroke="#e2e6ec"/><text x="4" y="${y(p) + 4}" font-size="10" fill="#5a6372">${p * 100}%</text>`,
    );
  for (let k = 1; k <= total; k++) parts.push(`<text x="${x(k) - 3}" y="${H - 8}" font-size="10" fill="#5a6372">${k}</text>`);
  if (last?.exit) parts.push(`<line x1="${x(last.step)}" x2="${x(last.step)}" y1="${T}" y2="${H - B}" stroke="#d9480f" stroke-dasharray="4 3"/>`);
  shown.forEach((c, n) => {
    const points = steps.map((s) => `${x(s.step).toFixed(1)},${y(s.probabilities[c]!).toFixed(1)}`).join(' ');
    parts.push(`<polyline fill="none" stroke="${COLOURS[n]}" stroke-width="2.5" points="${points}"/>`);
    for (const s of steps) parts.push(`<circle cx="${x(s.step)}" cy="${y(s.probabilities[c]!)}" r="3" fill="${COLOURS[n]}"/>`);
  });
  svg.innerHTML = parts.join('');
  legend.innerHTML = shown.map((c, n) => `<li><i style="background:${COLOURS[n]}"></i>${escapeHtml(classes[c]!)}</li>`).join('');
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
