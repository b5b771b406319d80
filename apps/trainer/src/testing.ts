// Shared by the CLI's tests (not exported from the package): the built binary in a child process
// on wasm, and the tiny config that trains in seconds.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../bin/saccade.js', import.meta.url));

export interface SaccadeRun {
  code: number;
  stdout: string;
  stderr: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: () => any;
}

/** `saccade ARGS...` to completion (wasm backend). */
export function saccade(...args: string[]): SaccadeRun {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, SACCADE_BACKEND: 'wasm' } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json: () => JSON.parse(r.stdout) };
}

/** A config small enough to train a model in a few seconds on 64 px videos of 4 frames. */
export const TINY = {
  frames: 4,
  frameSize: 64,
  glanceSize: 16,
  patchSize: 32,
  glanceWidth: 0.25,
  focusWidth: 0.25,
  classifierWidth: 16,
  batchSize: 4,
  epochs: 2,
  pretrained: false,
};
