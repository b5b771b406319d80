/** Node: an official checkpoint file (torch.save's zip format) as a Saccade network. */
import { readFile } from 'node:fs/promises';

import { readTorchCheckpoint, torchStateDict } from '@saccade/backbones';

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
  const state = torchStateDict(readTorchCheckpoint(bytes, path), path);
  return importOfficialState(state, methodVariant(method).config.method, options, path);
}
