/**
 * Checkpoints trained with a paper's official code, as Saccade networks: the method's
 * `MethodSpec.official` reads the architecture from the state dict and maps every weight; the
 * network then saves as a bundle and classifies like any other.
 */
import type { TorchTensor } from '@saccade/backbones';

import { createVideoNet } from './create.js';
import { ConfigError } from './errors.js';
import { methodSpec, registeredMethods } from './methods/registry.js';
import type { OfficialOptions } from './methods/spec.js';
import type { VideoNet } from './video_net.js';

export interface OfficialImportResult {
  net: VideoNet;
  /** Checkpoint entries left out on purpose (the backbones' ImageNet heads, BN counters). */
  ignored: string[];
}

/** A network of `method` (an id) from an official state dict (`torchStateDict` of the checkpoint). */
export function importOfficialState(
  state: ReadonlyMap<string, TorchTensor>,
  method: string,
  options: OfficialOptions = {},
  source = 'checkpoint',
): OfficialImportResult {
  const spec = methodSpec(method);
  if (!spec.official) throw new ConfigError('method', `${method} has no official checkpoints Saccade reads (methods that do: ${officialMethods().join(', ')})`);
  const plan = spec.official.plan(state, options, source);
  // A method's checkpoints may be another method's network (AdaFocus V1's Something-Something model is adafocus_v1_tsm).
  const official = (typeof plan.config.method === 'string' ? methodSpec(plan.config.method).official : undefined) ?? spec.official;
  const net = createVideoNet(plan.config, plan.classes);
  try {
    official.assign(net.models(), state, plan, source);
  } catch (error) {
    net.dispose();
    throw error;
  }
  return { net, ignored: plan.ignored };
}

/** The registered methods whose official checkpoints Saccade reads. */
export function officialMethods(): string[] {
  return registeredMethods().filter((m) => methodSpec(m).official !== undefined);
}
