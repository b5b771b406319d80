/**
 * The training configuration: one flat object (so that CLI flags and a config file override field
 * by field) of the shared fields (config/base.ts) and the method's own (its MethodSpec's `fields`),
 * validated by the method's zod schema. Unknown fields, a field of another method, wrong types and
 * out-of-range values are a ConfigError naming the field. Defaults suit two CPU cores (T=16,
 * 128x128 frames, glance 32, patch 48, the small CPU presets).
 */
import { z } from 'zod';

import { BASE_FIELDS, type TrainConfig, type TrainingStage } from './config/base.js';
import { version1Owners } from './config/v1.js';
import { ConfigError } from './errors.js';
import { fieldOwners, methodSpec } from './methods/registry.js';
import type { AnyMethodSpec } from './methods/spec.js';

export type { BaseConfig, ConfigOf, TrainConfig, TrainConfigInput, TrainingStage } from './config/base.js';

const schemas = new WeakMap<AnyMethodSpec, z.ZodTypeAny>();

/** The zod schema of one method's config: the shared fields, the method's own, and the rules across them. */
export function configSchemaFor(method: string): z.ZodTypeAny {
  const spec = methodSpec(method);
  let schema = schemas.get(spec);
  if (!schema) {
    const patches = spec.patches ?? ['policy'];
    schema = z
      .object({ ...BASE_FIELDS, ...spec.fields })
      .strict()
      .superRefine((c, ctx) => {
        const issue = (field: string, message: string) => ctx.addIssue({ code: 'custom', path: [field], message });
        if (c.glanceSize > c.frameSize) issue('glanceSize', `must be <= frameSize (${c.frameSize}), got ${c.glanceSize}`);
        if (c.patchSize > c.frameSize) issue('patchSize', `must be <= frameSize (${c.frameSize}), got ${c.patchSize}`);
        if (!patches.includes(c.patches))
          issue(
            'patches',
            `must be ${patches.join(' or ')} for ${spec.id} (the other baselines are adafocus_v2 with patches random / centre), got ${c.patches}`,
          );
        spec.check?.(c as TrainConfig, issue);
      });
    schemas.set(spec, schema);
  }
  return schema;
}

/** Validate and fill defaults; throws ConfigError naming the first bad field. */
export function parseConfig(input: unknown): TrainConfig {
  if (input !== undefined && input !== null && (typeof input !== 'object' || Array.isArray(input)))
    throw new ConfigError('(root)', 'must be an object of fields');
  const given = (input ?? {}) as Record<string, unknown>;
  const spec = methodSpec(given['method'] ?? BASE_FIELDS.method.parse(undefined));
  const r = configSchemaFor(spec.id).safeParse(given);
  if (r.success) {
    const c = r.data as Omit<TrainConfig, 'lrFocus' | 'microBatch'> & { lrFocus?: number; microBatch?: number };
    const d = spec.defaults?.(c) ?? {};
    const filled: Record<string, unknown> = { ...c, lrFocus: c.lrFocus ?? d.lrFocus ?? 1, microBatch: c.microBatch ?? d.microBatch ?? 0 };
    // Fields in one order (the shared ones, then the method's), whatever order they were given in.
    return Object.fromEntries(configFields(spec.id).map((f) => [f, filled[f]])) as TrainConfig;
  }
  const issue = r.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const field = issue.keys[0]!;
    const owners = fieldOwners(field);
    if (owners.length > 0) throw new ConfigError(field, `${JSON.stringify(given[field])} is for method ${owners.join(' / ')} and does nothing for ${spec.id}`);
    throw new ConfigError(field, `unknown field (known for ${spec.id}: ${configFields(spec.id).join(', ')})`);
  }
  const field = issue.path.map(String).join('.') || '(root)';
  throw new ConfigError(field, issue.message);
}

/** The fields a method's config has: the shared ones, then its own. */
export function configFields(method: string): string[] {
  return [...Object.keys(BASE_FIELDS), ...Object.keys(methodSpec(method).fields)];
}

/** The stages a config trains in: AdaFocus V1's three (through config.stages), one for the others. */
export function trainingStages(c: TrainConfig): TrainingStage[] {
  return methodSpec(c.method).stages(c);
}

/**
 * A config file given whole (a run's config.json from before per-method configs carried every
 * method's fields): the fields of other methods that sit at their default are dropped, since they
 * never did anything; one set to another value stays, and parseConfig refuses it.
 */
export function withoutIdleFields(given: Readonly<Record<string, unknown>>, method: string): Record<string, unknown> {
  const own = new Set(configFields(method));
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(given)) {
    const owners = own.has(field) ? [] : fieldOwners(field);
    // Such files are version 1's: a field is judged by the defaults of the methods that read it then
    // (adafocus_v1_tsm's grid default is not V1's), or of its owners now for a field added since.
    const then = owners.filter((o) => version1Owners(field).includes(o));
    const idle = owners.length > 0 && (then.length > 0 ? then : owners).every((o) => JSON.stringify(value) === JSON.stringify(defaultOf(o, field)));
    if (!idle) out[field] = value;
  }
  return out;
}

function defaultOf(method: string, field: string): unknown {
  const schema = methodSpec(method).fields[field] as z.ZodTypeAny;
  const r = schema.safeParse(undefined);
  return r.success ? r.data : undefined;
}

/** One field on which a stored run's config and a requested one differ. */
export interface ConfigDifference {
  field: string;
  stored: unknown;
  requested: unknown;
}

/**
 * The fields on which a run's stored config (a checkpoint's) and the config asked for now differ,
 * in field order. `stages` may grow (AdaFocus V1 goes on one stage at a time), so a larger
 * requested `stages` is not a difference. Stored configs of older versions are migrated first
 * (migrateConfigV1).
 */
export function configDifferences(stored: TrainConfig, requested: TrainConfig): ConfigDifference[] {
  const written = stored as unknown as Record<string, unknown>;
  const now = requested as unknown as Record<string, unknown>;
  const fields = Object.keys(now);
  const out: ConfigDifference[] = [];
  for (const field of fields) {
    if (field === 'stages' && Number(written[field]) <= Number(now[field])) continue;
    if (JSON.stringify(written[field]) !== JSON.stringify(now[field])) out.push({ field, stored: written[field], requested: now[field] });
  }
  return out;
}

/** "lr 0.1 (run) vs 0.2 (now); seed 0 (run) vs 1 (now)". */
export function describeDifferences(differences: readonly ConfigDifference[]): string {
  return differences.map((d) => `${d.field} ${JSON.stringify(d.stored)} (run) vs ${JSON.stringify(d.requested)} (now)`).join('; ');
}
