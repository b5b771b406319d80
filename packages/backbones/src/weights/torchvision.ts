/**
 * torchvision checkpoints (state_dict saved as safetensors) to and from Saccade's backbones: the
 * name mapping (features.3.conv.1.0.weight <-> block_2_depthwise/depthwise_kernel, layer2.0.
 * downsample.0.weight <-> conv3_block1_0_conv/kernel, ...) and the layouts (OIHW <-> HWIO,
 * depthwise [C*M,1,kh,kw] <-> [kh,kw,C,M], linear [out,in] <-> [in,out]).
 */
import * as tf from '@tensorflow/tfjs';

import { WeightMismatchError } from '../errors.js';
import { assignAll, modelWeights, type LoadReport } from './assign.js';
import { readSafetensors, writeSafetensors, type SafetensorsEntry } from './safetensors.js';

const PARAMS: Record<string, string> = {
  kernel: 'weight',
  depthwise_kernel: 'weight',
  gamma: 'weight',
  beta: 'bias',
  moving_mean: 'running_mean',
  moving_variance: 'running_var',
  bias: 'bias',
};

const MOBILENET_BLOCK: Record<string, [string, string]> = {
  // part: [torchvision module when the block expands, when it does not (expansion 1)]
  expand: ['conv.0.0', ''],
  expand_BN: ['conv.0.1', ''],
  depthwise: ['conv.1.0', 'conv.0.0'],
  depthwise_BN: ['conv.1.1', 'conv.0.1'],
  project: ['conv.2', 'conv.1'],
  project_BN: ['conv.3', 'conv.2'],
};

/** The torchvision module of a layer, or undefined for layers torchvision has no weights for. */
function torchModule(layer: string, model: tf.LayersModel): string | undefined {
  if (layer === 'predictions') return model.layers.some((l) => l.name === 'Conv1') ? 'classifier.1' : 'fc';
  // MobileNetV2
  if (layer === 'Conv1') return 'features.0.0';
  if (layer === 'bn_Conv1') return 'features.0.1';
  const blocks = model.layers.filter((l) => /_project$/.test(l.name)).length;
  if (layer === 'Conv_1') return `features.${blocks + 1}.0`;
  if (layer === 'Conv_1_bn') return `features.${blocks + 1}.1`;
  let m = /^(?:expanded_conv|block_(\d+))_(expand|expand_BN|depthwise|depthwise_BN|project|project_BN)$/.exec(layer);
  if (m) {
    const block = m[1] === undefined ? 0 : Number(m[1]);
    const expands = model.layers.some((l) => l.name === `${block === 0 ? 'expanded_conv' : `block_${block}`}_expand`);
    const module = MOBILENET_BLOCK[m[2]!]![expands ? 0 : 1];
    return `features.${block + 1}.${module}`;
  }
  // ResNet
  if (layer === 'conv1_conv') return 'conv1';
  if (layer === 'conv1_bn') return 'bn1';
  m = /^conv(\d)_block(\d+)_(\d)_(conv|bn)$/.exec(layer);
  if (m) {
    const [stage, block, k, kind] = [Number(m[1]) - 1, Number(m[2]) - 1, Number(m[3]), m[4]];
    const part = k === 0 ? `downsample.${kind === 'conv' ? 0 : 1}` : `${kind}${k}`;
    return `layer${stage}.${block}.${part}`;
  }
  return undefined;
}

function torchName(weight: string, model: tf.LayersModel): string | undefined {
  const slash = weight.lastIndexOf('/');
  const module = torchModule(weight.slice(0, slash), model);
  const param = PARAMS[weight.slice(slash + 1)];
  return module && param ? `${module}.${param}` : undefined;
}

function kind(weight: string): 'conv' | 'depthwise' | 'dense' | 'vector' {
  if (weight.endsWith('/depthwise_kernel')) return 'depthwise';
  if (weight.startsWith('predictions/') && weight.endsWith('/kernel')) return 'dense';
  if (weight.endsWith('/kernel')) return 'conv';
  return 'vector';
}

/** torchvision layout -> tfjs layout. */
function fromTorch(k: ReturnType<typeof kind>, data: Float32Array, shape: number[], targetShape: number[]): tf.Tensor {
  return tf.tidy(() => {
    const t = tf.tensor(data, shape);
    switch (k) {
      case 'conv':
        return tf.transpose(t, [2, 3, 1, 0]);
      case 'depthwise': {
        const [kh, kw, c, m] = targetShape as [number, number, number, number];
        if (shape.length !== 4 || shape[0] !== c * m) return t; // reported as a shape mismatch
        return tf.transpose(tf.reshape(t, [c, m, kh, kw]), [2, 3, 0, 1]);
      }
      case 'dense':
        return tf.transpose(t);
      default:
        return t;
    }
  });
}

/** tfjs layout -> torchvision layout. */
function toTorch(k: ReturnType<typeof kind>, t: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    switch (k) {
      case 'conv':
        return tf.transpose(t, [3, 2, 0, 1]);
      case 'depthwise': {
        const [kh, kw, c, m] = t.shape as [number, number, number, number];
        return tf.reshape(tf.transpose(t, [2, 3, 0, 1]), [c * m, 1, kh, kw]);
      }
      case 'dense':
        return tf.transpose(t);
      default:
        return t.clone();
    }
  });
}

/**
 * Load a torchvision state_dict saved as safetensors (bytes of the file) into a backbone built by
 * createBackbone ('mobilenet_v2*', 'resnet*'). Every weight must be present with the right shape;
 * head weights ('fc', 'classifier') are ignored when the model has no head; num_batches_tracked is
 * ignored. Otherwise a WeightMismatchError lists every problem and nothing is loaded.
 */
export function loadTorchvisionWeights(model: tf.LayersModel, bytes: Uint8Array, source = 'torchvision safetensors'): LoadReport {
  return loadTorchvisionState(model, readSafetensors(bytes, source), source);
}

/**
 * Load a torchvision state dict already read (from safetensors, or from a torch checkpoint by
 * `readTorchCheckpoint` and `torchStateDict`, with any prefix removed) into a backbone, with the
 * same rules as loadTorchvisionWeights.
 */
export function loadTorchvisionState(model: tf.LayersModel, entries: ReadonlyMap<string, SafetensorsEntry>, source = 'torchvision state dict'): LoadReport {
  const targets = modelWeights(model);
  const hasHead = model.layers.some((l) => l.name === 'predictions');
  const values = new Map<string, tf.Tensor>();
  const mismatches: string[] = [];
  const used = new Set<string>();
  try {
    for (const t of targets) {
      const name = torchName(t.name, model);
      if (!name) {
        mismatches.push(`unmapped: ${t.name} [${t.shape}] has no torchvision name`);
        continue;
      }
      const entry = entries.get(name);
      if (!entry) {
        mismatches.push(`missing: ${name} (${t.name} [${t.shape}]) is not in the file`);
        continue;
      }
      used.add(name);
      values.set(t.name, fromTorch(kind(t.name), entry.data, entry.shape, t.shape));
    }
    const ignored: string[] = [];
    for (const name of entries.keys()) {
      if (used.has(name)) continue;
      if (name.endsWith('num_batches_tracked') || (!hasHead && /^(fc|classifier)\./.test(name))) ignored.push(name);
      else mismatches.push(`unexpected: ${name} [${entries.get(name)!.shape}] has no place in the network`);
    }
    return assignAll(source, targets, values, mismatches, ignored);
  } finally {
    tf.dispose([...values.values()]);
  }
}

/** Save a backbone's weights as a torchvision state_dict in safetensors (with num_batches_tracked). */
export function saveTorchvisionWeights(model: tf.LayersModel): Uint8Array {
  const tensors = new Map<string, { dtype: 'F32' | 'I64'; shape: number[]; data: ArrayLike<number> }>();
  const unmapped: string[] = [];
  for (const t of modelWeights(model)) {
    const name = torchName(t.name, model);
    if (!name) {
      unmapped.push(`unmapped: ${t.name} has no torchvision name`);
      continue;
    }
    const torch = toTorch(kind(t.name), t.variable.read());
    tensors.set(name, { dtype: 'F32', shape: torch.shape, data: torch.dataSync() });
    torch.dispose();
    if (name.endsWith('.running_var')) tensors.set(name.replace(/running_var$/, 'num_batches_tracked'), { dtype: 'I64', shape: [], data: [0] });
  }
  if (unmapped.length > 0) throw new WeightMismatchError('the network (as torchvision)', unmapped);
  return writeSafetensors(tensors, { format: 'pt' });
}
