/**
 * Version 1 of stored configs (saccade.json bundles and checkpoints written before per-method
 * configs): one flat object with every method's fields, and without the fields added later. Its
 * migration to version 2 keeps the method's own fields, drops those of other methods (which that
 * method never read), and gives each field a version-1 config predates the value it was trained with.
 */
import { BASE_FIELDS } from './base.js';

/**
 * Fields added while version 1 was current, with the value every earlier config was trained with
 * (whatever the default is now): AdaFocusV2's last map, dense (GRU) readout, grid cells, the
 * classifier's prediction and both branches training the classifier.
 */
export const VERSION_1_VALUES: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  adafocus_v2: { policyMap: 'last', policyReadout: 'dense', prediction: 'classifier', randomBranch: 'all', policyCells: 'grid' },
};

/** The fields each built-in method read in version 1, besides the shared ones. */
const VERSION_1_FIELDS: Readonly<Record<string, readonly string[]>> = {
  adafocus_v2: ['policyHidden', 'policyMap', 'policyReadout', 'policyCells', 'randomBranch', 'prediction'],
  adafocus_v1: ['policyHidden', 'action', 'grid', 'actionStd', 'gamma', 'ppoClip', 'valueCoef', 'entropyCoef', 'stages', 'rlEpochs', 'finetuneEpochs'],
  adafocus_v3: ['policyHidden', 'focusFrames'],
  uniform: [],
  glance: [],
};

/** The built-in methods that read `field` in version 1 (none for a field added since). */
export function version1Owners(field: string): string[] {
  return Object.keys(VERSION_1_FIELDS).filter((m) => VERSION_1_FIELDS[m]!.includes(field));
}

/** Every method-specific field version 1 knew. */
const ALL_VERSION_1_FIELDS = new Set(Object.values(VERSION_1_FIELDS).flat());

/**
 * A version-1 stored config as version 2: its method's fields (with the values of VERSION_1_VALUES
 * where it predates them) and the shared fields; other methods' fields are dropped. Fields version 1
 * did not know stay, so that parseConfig names them. A config that is not version 1's is returned as it is.
 */
export function migrateConfigV1(stored: unknown): unknown {
  if (!stored || typeof stored !== 'object' || Array.isArray(stored)) return stored;
  const c = stored as Record<string, unknown>;
  const method = typeof c['method'] === 'string' ? c['method'] : BASE_FIELDS.method.parse(undefined);
  const own = VERSION_1_FIELDS[method];
  if (!own) return stored;
  // Version 1 had no frame order: every model saw its frames in time order.
  const out: Record<string, unknown> = { frameOrder: 'chronological', ...VERSION_1_VALUES[method] };
  for (const [field, value] of Object.entries(c)) {
    if (ALL_VERSION_1_FIELDS.has(field) && !own.includes(field)) continue;
    out[field] = value;
  }
  return out;
}
