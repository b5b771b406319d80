/**
 * The methods and their variants by the names users type (the CLI's `--method`, the bench's
 * `--methods`): each is a config (the method and how its patches are chosen) and a label. The CLI,
 * the bench and the contract tests loop over this one list.
 */
import type { TrainConfigInput } from './config.js';
import { ConfigError } from './errors.js';

export interface MethodVariant {
  /** The name users type. */
  name: string;
  /** What reports call it. */
  label: string;
  /** The config fields that make it (the method, and its patch source). */
  config: TrainConfigInput;
  /** A baseline (set beside the methods in reports), not one of the papers' methods. */
  baseline: boolean;
}

export const METHOD_VARIANTS = [
  { name: 'v2', label: 'AdaFocusV2', config: { method: 'adafocus_v2', patches: 'policy' }, baseline: false },
  { name: 'v1', label: 'AdaFocus V1', config: { method: 'adafocus_v1', patches: 'policy' }, baseline: false },
  { name: 'v3', label: 'AdaFocus V3', config: { method: 'adafocus_v3', patches: 'policy' }, baseline: false },
  { name: 'uniform', label: 'uniform (full frames)', config: { method: 'uniform' }, baseline: true },
  { name: 'glance', label: 'glance only', config: { method: 'glance' }, baseline: true },
  { name: 'random', label: 'random patches', config: { method: 'adafocus_v2', patches: 'random' }, baseline: true },
  { name: 'centre', label: 'centre patches', config: { method: 'adafocus_v2', patches: 'centre' }, baseline: true },
  { name: 'v1-random', label: 'AdaFocus V1, random patches', config: { method: 'adafocus_v1', patches: 'random' }, baseline: true },
] as const satisfies readonly MethodVariant[];

export type MethodVariantName = (typeof METHOD_VARIANTS)[number]['name'];

/** The variant of a name, or a ConfigError on `method` that lists the known names. */
export function methodVariant(name: string): MethodVariant {
  const v = METHOD_VARIANTS.find((m) => m.name === name);
  if (!v) throw new ConfigError('method', `unknown method ${JSON.stringify(name)}; known: ${METHOD_VARIANTS.map((m) => m.name).join(', ')}`);
  return v;
}
