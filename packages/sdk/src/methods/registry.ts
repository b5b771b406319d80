/**
 * The registry of methods: it starts with the SDK's own (AdaFocusV2, V1 and its Something-Something
 * model, Uni-AdaFocus and the uniform and glance baselines, methods/builtin.ts); `registerMethod` adds one more, after which training, bundles,
 * classify, the CLI and the bench take it like the others.
 */
import { BASE_FIELDS } from '../config/base.js';
import { ConfigError } from '../errors.js';
import { BUILTIN_METHODS } from './builtin.js';
import type { AnyMethodSpec, MethodVariant } from './spec.js';

const registry = new Map<string, AnyMethodSpec>();

/**
 * Methods Saccade no longer builds, and what replaced them: a config, checkpoint or bundle of one is
 * refused with this (the networks differ, so there is nothing to convert).
 */
export const RETIRED_METHODS: Readonly<Record<string, string>> = {
  adafocus_v3:
    "adafocus_v3 was Saccade's simplified AdaFocus V3 (one patch centre per video from time-averaged glance features, no patch size, frames that could repeat); Uni-AdaFocus replaced it (method uni_adafocus: `--method uni`, or `v3`), whose networks differ, so its bundles and checkpoints cannot be converted: train again with --method uni",
};

/** Add a method. A ConfigError on `method` if its id, a variant's name or a field clashes with what is registered. */
export function registerMethod(spec: AnyMethodSpec): void {
  if (!/^[a-z][a-z0-9_]*$/.test(spec.id)) throw new ConfigError('method', `a method id is lower-case letters, digits and _, got ${JSON.stringify(spec.id)}`);
  if (spec.id in RETIRED_METHODS) throw new ConfigError('method', `${spec.id} is the id of a retired method; choose another`);
  if (registry.has(spec.id)) throw new ConfigError('method', `${spec.id} is registered already`);
  if (spec.variants.length === 0) throw new ConfigError('method', `${spec.id} has no variants (the names users type)`);
  const taken = new Set(methodVariants().flatMap((v) => [v.name, ...(v.aliases ?? [])]));
  for (const v of spec.variants) {
    for (const name of [v.name, ...(v.aliases ?? [])]) {
      if (taken.has(name)) throw new ConfigError('method', `${spec.id}: the name ${JSON.stringify(name)} is taken by another method`);
      taken.add(name);
    }
    if (v.config.method !== spec.id) throw new ConfigError('method', `${spec.id}: variant ${v.name} is of method ${v.config.method}`);
  }
  const shared = Object.keys(spec.fields).filter((f) => f in BASE_FIELDS);
  if (shared.length > 0) throw new ConfigError('method', `${spec.id}: ${shared.join(', ')} are shared config fields, not a method's own`);
  registry.set(spec.id, spec);
}

for (const spec of BUILTIN_METHODS) registerMethod(spec);

/** Remove a method registered with registerMethod (tests that register their own). */
export function unregisterMethod(id: string): boolean {
  if (BUILTIN_METHODS.some((s) => s.id === id)) throw new ConfigError('method', `${id} is one of the SDK's own methods and stays registered`);
  return registry.delete(id);
}

/** The spec of a method id, or a ConfigError on `method` listing the registered ids. */
export function methodSpec(id: unknown): AnyMethodSpec {
  const spec = typeof id === 'string' ? registry.get(id) : undefined;
  if (!spec && typeof id === 'string' && id in RETIRED_METHODS) throw new ConfigError('method', RETIRED_METHODS[id]!);
  if (!spec) throw new ConfigError('method', `unknown method ${JSON.stringify(id)}; registered: ${registeredMethods().join(', ')}`);
  return spec;
}

/** The registered method ids, in registration order. */
export function registeredMethods(): string[] {
  return [...registry.keys()];
}

/** Every registered variant (the names `--method` takes), methods in registration order. */
export function methodVariants(): MethodVariant[] {
  return [...registry.values()].flatMap((s) => s.variants);
}

/** The variant of a name or alias, or a ConfigError on `method` that lists the names. */
export function methodVariant(name: string): MethodVariant {
  const v = methodVariants().find((m) => m.name === name || (m.aliases ?? []).includes(name));
  if (!v)
    throw new ConfigError(
      'method',
      `unknown method ${JSON.stringify(name)}; known: ${methodVariants()
        .map((m) => m.name)
        .join(', ')}`,
    );
  return v;
}

/** The methods whose own fields include `field`. */
export function fieldOwners(field: string): string[] {
  return [...registry.values()].filter((s) => field in s.fields).map((s) => s.id);
}
