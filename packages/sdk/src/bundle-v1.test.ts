// Version-1 bundles, written by the SDK before per-method configs (test/fixtures/v1-bundles, made
// by its make.mjs at commit 051a6b7), load through the migration to version 2 and classify exactly
// as that SDK did: the same labels, probabilities, exit steps and patches, the same logits.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { migrateBundleV1 } from './bundle.js';
import { configFields } from './config.js';
import { migrateConfigV1, VERSION_1_VALUES } from './config/v1.js';
import { loadModel } from './node/bundle.js';

const FIXTURES = join(import.meta.dirname, '..', 'test', 'fixtures', 'v1-bundles');
const expected = JSON.parse(await readFile(join(FIXTURES, 'expected.json'), 'utf8')) as Record<string, { results: unknown[]; logits: number[] }>;
const bytes = await readFile(join(FIXTURES, 'videos.bin'));
const videos = [0, 1].map((i) => new Uint8Array(bytes.subarray(i * 4 * 32 * 32 * 3, (i + 1) * 4 * 32 * 32 * 3)));

// The simplified AdaFocus V3 was retired for Uni-AdaFocus: its bundles are refused, saying so.
const RETIRED = ['v3'];

describe('version-1 bundles', () => {
  it('a bundle of the retired simplified AdaFocus V3 is refused with what replaced it', async () => {
    const stored = JSON.parse(await readFile(join(FIXTURES, 'v3', 'saccade.json'), 'utf8'));
    expect(stored.config.method).toBe('adafocus_v3');
    await expect(loadModel(join(FIXTURES, 'v3'))).rejects.toThrow(
      /adafocus_v3 was Saccade's simplified AdaFocus V3 .*Uni-AdaFocus replaced it.*train again with --method uni/,
    );
  });

  it.each(Object.keys(expected).filter((n) => !RETIRED.includes(n)))('%s loads as version 2 and classifies as the SDK that wrote it', async (name) => {
    const stored = JSON.parse(await readFile(join(FIXTURES, name, 'saccade.json'), 'utf8'));
    expect(stored.version).toBe(1);
    const model = await loadModel(join(FIXTURES, name));
    try {
      expect(model.meta.version).toBe(2);
      // Written before `fit` existed: their frames were squashed, and still are.
      expect(model.meta.config.fit).toBe('squash');
      // Only the method's own fields and the shared ones remain.
      expect(Object.keys(model.meta.config)).toEqual(configFields(model.meta.method));
      const results = [];
      for (const v of videos) {
        // `trace` is newer than these fixtures: it is checked against the result instead.
        const { timingsMs: _t, trace, ...r } = await model.classify({ data: v, frames: 4, width: 32, height: 32 }, { seed: 4 });
        expect(trace).toHaveLength(r.exitStep);
        expect(trace.at(-1)).toMatchObject({ label: r.label, probability: r.probability });
        results.push(r);
      }
      expect(results).toEqual(expected[name]!.results);
      expect(Array.from(model.logitsBatch(videos))).toEqual(expected[name]!.logits);
    } finally {
      model.dispose();
    }
  });

  it('the migration keeps the method own fields, drops the others and gives missing later fields their version-1 values', async () => {
    const v1 = JSON.parse(await readFile(join(FIXTURES, 'v1', 'saccade.json'), 'utf8'));
    const m = migrateBundleV1(v1) as { version: number; config: Record<string, unknown>; models: unknown };
    expect(m.version).toBe(2);
    expect(m.config['grid']).toBe(3);
    expect(m.config).not.toHaveProperty('focusFrames');
    expect(m.config).not.toHaveProperty('policyReadout');
    expect(m.models).toEqual(v1.models);
    const before = JSON.parse(await readFile(join(FIXTURES, 'v2-before-fields', 'saccade.json'), 'utf8'));
    expect(before.config).not.toHaveProperty('policyReadout');
    expect(before).not.toHaveProperty('steps');
    const migrated = migrateBundleV1(before) as { steps: number; config: Record<string, unknown> };
    expect(migrated.config).toMatchObject(VERSION_1_VALUES['adafocus_v2']!);
    expect(migrated.steps).toBe(4);
    // A version-2 config passes through unchanged.
    const model = await loadModel(join(FIXTURES, 'v2'));
    model.dispose();
    expect(migrateConfigV1(model.meta.config)).toEqual(model.meta.config);
  });
});
