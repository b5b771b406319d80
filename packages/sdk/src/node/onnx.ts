/**
 * A bundle's sub-networks written as ONNX files, for ONNX Runtime anywhere (Python, C++, the
 * browser's onnxruntime-web): each sub-network as @saccade/onnx exports it (the tfjs model's NHWC
 * inputs and outputs), each GRU's recurrence also as one ONNX GRU operator, and onnx.json saying
 * which file is what. What joins them in a step (the crop, the running maximum, the heads' sums,
 * the frame order) is the method's, in @saccade/sdk; saccade.json beside them has the config.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { exportGruSequence, exportLayersModel, OPSET } from '@saccade/onnx';

import { writeFolderAtomic } from './folder.js';
import { loadModel } from './bundle.js';

export interface OnnxExportSummary {
  bundle: string;
  out: string;
  /** One entry per file written. */
  files: {
    file: string;
    part: string;
    kind: 'network' | 'gru';
    bytes: number;
    inputs: { name: string; shape: (number | null)[] }[];
    outputs: { name: string; shape: (number | null)[] }[];
  }[];
}

/**
 * Write every sub-network of the bundle at `bundle` as ONNX into the folder `out` (replaced
 * atomically): `<part>.onnx`, `<part>.gru.onnx` for a GRU's recurrence, `onnx.json` listing them
 * with their inputs and outputs, and a copy of saccade.json.
 */
export async function exportBundleOnnx(bundle: string, out: string): Promise<OnnxExportSummary> {
  const model = await loadModel(bundle, { quiet: true });
  try {
    const files: OnnxExportSummary['files'] = [];
    await writeFolderAtomic(out, async (temp) => {
      await mkdir(temp, { recursive: true });
      for (const [part, net] of Object.entries(model.net.models())) {
        const exported = exportLayersModel(net, { name: part });
        await writeFile(join(temp, `${part}.onnx`), exported.bytes);
        files.push({ file: `${part}.onnx`, part, kind: 'network', bytes: exported.bytes.length, inputs: exported.inputs, outputs: exported.outputs });
        if (net.layers.some((l) => l.name === 'gru_h_z')) {
          const gru = exportGruSequence(net, { name: `${part}_gru` });
          await writeFile(join(temp, `${part}.gru.onnx`), gru.bytes);
          files.push({ file: `${part}.gru.onnx`, part, kind: 'gru', bytes: gru.bytes.length, inputs: gru.inputs, outputs: gru.outputs });
        }
      }
      const manifest = {
        format: 'saccade-onnx',
        opset: OPSET,
        method: model.meta.method,
        layout: 'NHWC inputs and outputs, as the tfjs sub-networks; a .gru.onnx file takes [batch, steps, width] and gives every state',
        files,
      };
      await writeFile(join(temp, 'onnx.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      await writeFile(join(temp, 'saccade.json'), `${JSON.stringify(model.meta, null, 2)}\n`);
    });
    return { bundle, out, files };
  } finally {
    model.dispose();
  }
}
