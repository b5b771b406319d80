// Plain JavaScript: vitest loads config files with Node, which cannot import TypeScript here.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Export condition that points workspace packages at their TypeScript sources (see README). */
export const SOURCE_CONDITION = '@saccade/source';

const SERVER_CONDITIONS = [SOURCE_CONDITION, 'node', 'import', 'module', 'default'];

/**
 * The shared vitest preset. Tests run against workspace sources (no build of dependencies first),
 * one fork per file so that tfjs backends and ffmpeg children cannot bleed between files, and every
 * test is checked for leaked tensors.
 */
/** @param {import('./index.js').PresetOptions} [options] */
export function saccadePreset(options = {}) {
  const leakGuard = fileURLToPath(new URL('./leak-guard.ts', import.meta.url));
  const setupFiles = [...(options.leakGuard === false ? [] : [leakGuard]), ...(options.setupFiles ?? [])];
  return {
    resolve: { conditions: SERVER_CONDITIONS },
    ssr: { resolve: { conditions: SERVER_CONDITIONS, externalConditions: [SOURCE_CONDITION] } },
    test: {
      include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
      setupFiles,
      // Decoded-frame caches of the tests go to a temporary folder, not the user's cache.
      env: { SACCADE_CACHE_DIR: process.env.SACCADE_CACHE_DIR ?? join(tmpdir(), 'saccade-test-frames') },
      pool: 'forks',
      testTimeout: options.testTimeout ?? 120_000,
      hookTimeout: options.testTimeout ?? 120_000,
      // The JSON report feeds the workspace-wide summary line (scripts/test-summary.mjs).
      reporters: ['default', 'json'],
      outputFile: { json: 'test-results.json' },
    },
  };
}
