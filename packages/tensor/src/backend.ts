import * as tf from '@tensorflow/tfjs';

import { BackendUnavailableError, UnknownBackendError } from './errors.js';
import { registerFastGradients } from './gradients/register.js';
import { registerWasmKernels } from './kernels/register.js';

/** Saccade's names for the backends it can run on, fastest first. */
export const BACKEND_ORDER = ['node-gpu', 'node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_ORDER)[number];

export interface BackendInfo {
  /** Saccade's name of the backend in use. */
  name: BackendName;
  /** The name tfjs knows it by (`tf.getBackend()`): 'tensorflow' for both native ones. */
  tfBackend: string;
  /** The npm package that provides it. */
  package: string;
  /** Why this one: forced, or which faster ones were tried and why they did not load. */
  reason: string;
  /** Backends tried before this one, with the error each gave. */
  skipped: { name: BackendName; error: string }[];
  /** Kernels Saccade registered on top of the backend's own (wasm training kernels). */
  kernels: string[];
  /** Gradients Saccade registered in place of tfjs-core's (same mathematics, fewer passes). */
  gradients: string[];
}

const PACKAGES: Record<BackendName, string> = {
  'node-gpu': '@tensorflow/tfjs-node-gpu',
  node: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: '@tensorflow/tfjs-backend-cpu (bundled with @tensorflow/tfjs)',
};

const REMEDIES: Record<BackendName, string> = {
  'node-gpu': 'Install @tensorflow/tfjs-node-gpu@4.22.0 (it needs CUDA and downloads libtensorflow at install time), or choose another backend.',
  node: 'Install @tensorflow/tfjs-node@4.22.0 (it downloads libtensorflow at install time), or choose another backend.',
  wasm: 'Reinstall @tensorflow/tfjs-backend-wasm@4.22.0; its .wasm files must sit beside its dist/ files.',
  cpu: 'The cpu backend ships with @tensorflow/tfjs; reinstall it.',
};

let current: BackendInfo | undefined;

/** The backend chosen by the last `initBackend`, or undefined before it. */
export function backendInfo(): BackendInfo | undefined {
  return current;
}

/** Parse a backend name; `auto` (or empty) means "the fastest that loads". */
export function parseBackendName(value: string, source: 'argument' | 'SACCADE_BACKEND'): BackendName | 'auto' {
  const v = value.trim().toLowerCase();
  if (v === '' || v === 'auto') return 'auto';
  const aliases: Record<string, BackendName> = {
    'node-gpu': 'node-gpu',
    'tfjs-node-gpu': 'node-gpu',
    gpu: 'node-gpu',
    node: 'node',
    'tfjs-node': 'node',
    tensorflow: 'node',
    wasm: 'wasm',
    cpu: 'cpu',
  };
  const name = aliases[v];
  if (!name) throw new UnknownBackendError(value, source, [...BACKEND_ORDER, 'auto']);
  return name;
}

// A variable specifier keeps bundlers from resolving the optional native packages at build time.
async function importOptional(specifier: string): Promise<unknown> {
  return import(/* @vite-ignore */ specifier);
}

async function loadBackend(name: BackendName): Promise<void> {
  switch (name) {
    case 'node-gpu':
    case 'node': {
      // Both register the 'tensorflow' backend; importing one after the other is a no-op.
      await importOptional(PACKAGES[name]);
      if (!tf.findBackend('tensorflow')) throw new Error(`${PACKAGES[name]} did not register the "tensorflow" backend`);
      if (!(await tf.setBackend('tensorflow'))) throw new Error('tf.setBackend("tensorflow") returned false');
      return;
    }
    case 'wasm': {
      await import('@tensorflow/tfjs-backend-wasm');
      if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false (the .wasm binary failed to initialise)');
      return;
    }
    case 'cpu': {
      if (!(await tf.setBackend('cpu'))) throw new Error('tf.setBackend("cpu") returned false');
      return;
    }
  }
}

/**
 * Choose and initialise the compute backend, and return what is in use and why.
 *
 * Order: @tensorflow/tfjs-node-gpu, @tensorflow/tfjs-node, wasm, cpu. The two native ones are
 * optional peer dependencies loaded with a dynamic import; when nothing is asked for, a native one
 * that fails to load is skipped (and the reason recorded). When a backend is asked for, by argument
 * or by the SACCADE_BACKEND environment variable (the argument wins), it is that backend or a
 * BackendUnavailableError: never a silent fallback.
 *
 * On wasm, Saccade's training kernels (conv and depthwise-conv gradients, UnsortedSegmentSum) are
 * registered after the backend has initialised.
 */
export async function initBackend(requested?: string): Promise<BackendInfo> {
  const fromEnv = process.env?.SACCADE_BACKEND;
  const want =
    requested !== undefined
      ? parseBackendName(requested, 'argument')
      : fromEnv !== undefined && fromEnv !== ''
        ? parseBackendName(fromEnv, 'SACCADE_BACKEND')
        : 'auto';
  const forcedBy = requested !== undefined ? 'initBackend() argument' : 'SACCADE_BACKEND';

  const skipped: BackendInfo['skipped'] = [];
  const candidates: BackendName[] = want === 'auto' ? [...BACKEND_ORDER] : [want];
  for (const name of candidates) {
    try {
      await loadBackend(name);
    } catch (error) {
      if (want !== 'auto') throw new BackendUnavailableError(name, REMEDIES[name], error);
      skipped.push({ name, error: error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error) });
      continue;
    }
    const kernels = name === 'wasm' ? registerWasmKernels() : [];
    const gradients = registerFastGradients();
    const reason =
      want === 'auto'
        ? skipped.length === 0
          ? `fastest available (${name})`
          : `fastest available; skipped ${skipped.map((s) => `${s.name} (${s.error})`).join('; ')}`
        : `forced by ${forcedBy}`;
    current = { name, tfBackend: tf.getBackend(), package: PACKAGES[name], reason, skipped, kernels, gradients };
    return current;
  }
  // cpu ships with @tensorflow/tfjs, so this is reached only if even that failed.
  throw new BackendUnavailableError('auto', 'No tfjs backend could be initialised.', skipped.map((s) => `${s.name}: ${s.error}`).join('; '));
}

/** One line for logs and `saccade info`. */
export function describeBackend(info: BackendInfo): string {
  return `${info.name} (${info.package}; ${info.reason})`;
}
