/**
 * Where a feature map's cells look in the input image: the receptive-field centre of cell (0, 0)
 * and the spacing between cells, from the layers between the input and the map (convolutions,
 * pooling and explicit padding; element-wise layers keep the geometry). A map of stride s does not
 * sit on the grid (i + 0.5) * s: padding before a strided layer moves every cell's centre (torch
 * padding by half a step of that layer's input, up and left), and a policy that reads positions off
 * the map must know by how much.
 */
import type * as tf from '@tensorflow/tfjs';

import { BackboneOptionError } from './errors.js';

export interface MapGeometry {
  /** Input-pixel coordinates (pixel p covers [p, p + 1)) of cell (0, 0)'s receptive-field centre, [y, x]. */
  origin: [number, number];
  /** Distance between neighbouring cells' centres in input pixels, [y, x]. */
  step: [number, number];
  /** The input's size [h, w] in pixels. */
  input: [number, number];
}

type Pair = [number, number];
const pair = (v: unknown): Pair => (Array.isArray(v) ? [Number(v[0]), Number(v[v.length > 1 ? 1 : 0])] : [Number(v), Number(v)]);

/**
 * The geometry of `layer`'s output in `model` (a layer of the model, by name or object). Where paths
 * join (a residual addition, a concatenation), the one with the largest receptive field sets it:
 * the main path, not a strided shortcut whose 1x1 view is centred elsewhere under keras padding.
 */
export function featureMapGeometry(model: tf.LayersModel, layer: string | tf.layers.Layer): MapGeometry {
  const target = typeof layer === 'string' ? model.getLayer(layer) : layer;
  type G = { c: Pair; j: Pair; rf: Pair; size: Pair };
  const memo = new Map<tf.layers.Layer, G>();
  const inboundOf = (l: tf.layers.Layer): tf.layers.Layer[] =>
    (l as unknown as { inboundNodes: { inboundLayers: tf.layers.Layer[] }[] }).inboundNodes[0]?.inboundLayers ?? [];
  const visit = (l: tf.layers.Layer): G => {
    const known = memo.get(l);
    if (known) return known;
    const out = l.outputShape as number[];
    const inbound = inboundOf(l);
    let g: G;
    if (inbound.length === 0) {
      const size = out.slice(1, 3) as Pair;
      if (size.length !== 2 || !size.every((v) => Number.isInteger(v) && v > 0))
        throw new BackboneOptionError(model.name, 'layer', `${target.name}: the model's input is not an image of known size`);
      g = { c: [0, 0], j: [1, 1], rf: [1, 1], size };
    } else {
      const from = inbound.map((x) => visit(x)).reduce((a, b) => (b.rf[0] * b.rf[1] > a.rf[0] * a.rf[1] ? b : a));
      const inShape = inbound[0]!.outputShape as number[];
      const cfg = l.getConfig() as Record<string, unknown>;
      const kind = l.getClassName();
      const c: Pair = [...from.c];
      const j: Pair = [...from.j];
      const rf: Pair = [...from.rf];
      if (kind === 'ZeroPadding2D') {
        const p = cfg['padding'] as [Pair, Pair];
        for (const a of [0, 1] as const) c[a] -= p[a][0] * j[a];
      } else if (/^(Conv2D|DepthwiseConv2D|SeparableConv2D|MaxPooling2D|AveragePooling2D)$/.test(kind)) {
        const k = pair(cfg['kernelSize'] ?? cfg['poolSize']);
        const st = pair(cfg['strides'] ?? k);
        const d = pair(cfg['dilationRate'] ?? 1);
        for (const a of [0, 1] as const) {
          const span = (k[a] - 1) * d[a] + 1;
          const total = cfg['padding'] === 'same' ? Math.max((out[a + 1]! - 1) * st[a] + span - inShape[a + 1]!, 0) : 0;
          c[a] += ((span - 1) / 2 - Math.floor(total / 2)) * j[a];
          rf[a] += (span - 1) * j[a];
          j[a] *= st[a];
        }
      } else if (out.length === 4 && out.slice(1, 3).join() !== inShape.slice(1, 3).join()) {
        throw new BackboneOptionError(
          model.name,
          'layer',
          `${target.name}: layer ${l.name} (${kind}) changes the map's size in a way featureMapGeometry does not know`,
        );
      }
      g = { c, j, rf, size: from.size };
    }
    memo.set(l, g);
    return g;
  };
  const g = visit(target);
  return { origin: [g.c[0] + 0.5, g.c[1] + 0.5], step: g.j, input: g.size };
}
