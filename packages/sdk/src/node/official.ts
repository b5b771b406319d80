/** Node: an official checkpoint file (torch.save's zip format) as a Saccade network. */
import { readFile } from 'node:fs/promises';

import { readTorchCheckpoint, torchStateDict, type TorchTensor, type TorchValue } from '@saccade/backbones';

import { InputError } from '../errors.js';
import { methodVariant } from '../methods/registry.js';
import type { OfficialOptions } from '../methods/spec.js';
import { importOfficialState, type OfficialImportResult } from '../official.js';

/**
 * Read `path` (a checkpoint saved by the paper's official training script) into a network of
 * `method` (a name or id: 'v2', 'adafocus_v2'). The pickle inside is read by an allow-list
 * interpreter: nothing from the file runs. Wrong or unknown state dicts are a WeightMismatchError
 * listing every missing, unexpected and mis-shaped key, with nothing loaded.
 */
export async function importOfficialCheckpoint(path: string, method: string, options: OfficialOptions = {}): Promise<OfficialImportResult> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new InputError('checkpoint', `${path} cannot be read: ${(error as Error).message}`);
  }
  const checkpoint = readTorchCheckpoint(bytes, path);
  return importOfficialState(withSavedPolicy(checkpoint, torchStateDict(checkpoint, path)), methodVariant(method).config.method, options, path);
}

/**
 * The Something-Something AdaFocus V1 code keeps its PPO policy outside the model (its state dict
 * is the checkpoint's `policy` entry, beside `model_state_dict`): when the model's state dict has
 * no policy of its own, that entry's tensors join it as `policy.*`.
 */
export function withSavedPolicy(checkpoint: TorchValue, state: Map<string, TorchTensor>): Map<string, TorchTensor> {
  if (!(checkpoint instanceof Map) || [...state.keys()].some((k) => k.startsWith('policy.') || k.includes('.policy.'))) return state;
  const policy = checkpoint.get('policy');
  if (!(policy instanceof Map) || !state.has('focuser.net.base_model.conv1.weight')) return state;
  for (const [k, v] of torchStateDict(policy, 'policy')) state.set(`policy.${k}`, v);
  return state;
}
