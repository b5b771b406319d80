// @saccade/sdk in the browser: the same model code; bundles are fetched over http(s).
import * as tf from '@tensorflow/tfjs';

import { checkMeta, loadBundleWith } from './bundle.js';
import { BundleError } from './errors.js';
import type { BundleMeta, SaccadeModel } from './model.js';

export * from './universal.js';

/** Load a bundle served at `url` (the folder holding saccade.json). */
export async function loadModel(url: string, init?: RequestInit, options: { method?: BundleMeta['method'] } = {}): Promise<SaccadeModel> {
  const base = url.replace(/\/+$/, '');
  let response: Response;
  try {
    response = await fetch(`${base}/saccade.json`, init);
  } catch (error) {
    throw new BundleError(base, `saccade.json cannot be fetched: ${(error as Error).message}`);
  }
  if (!response.ok) throw new BundleError(base, `saccade.json: HTTP ${response.status}`);
  let json: unknown;
  try {
    json = await response.json();
  } catch {
    throw new BundleError(base, 'saccade.json is not valid JSON');
  }
  const meta = checkMeta(json, base);
  if (!meta.weights)
    console.warn(
      `${base}: saccade.json records no weight hashes (written before they existed); the shards are not verified. Add them with \`saccade bundle hash\`.`,
    );
  return loadBundleWith(meta, base, (folder) => verifiedHttp(base, folder, meta.weights, init), undefined, options.method);
}

async function sha256Hex(data: ArrayBuffer): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * tf.io.http for one sub-network whose shards must be plain file names in its folder (no path
 * that leaves the bundle's URL) and, where saccade.json records them, of the recorded size and
 * SHA-256 (checked on the fetched bytes before tfjs reads them).
 */
function verifiedHttp(base: string, folder: string, weights: BundleMeta['weights'], init?: RequestInit): tf.io.IOHandler {
  const shardOf = new Map<string, string>();
  return tf.io.http(`${base}/${folder}/model.json`, {
    ...(init ? { requestInit: init } : {}),
    weightUrlConverter: async (name: string) => {
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name) || name.includes('..'))
        throw new BundleError(base, `${folder}/model.json names a weight shard ${JSON.stringify(name)} outside ${folder}/; refused`);
      const url = `${base}/${folder}/${name}`;
      shardOf.set(url, name);
      return url;
    },
    fetchFunc: async (input: RequestInfo | URL, requestInit?: RequestInit) => {
      const response = await fetch(input, requestInit);
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      const name = shardOf.get(url);
      if (!weights || name === undefined || !response.ok) return response;
      const data = await response.arrayBuffer();
      const recorded = weights[`${folder}/${name}`];
      if (!recorded || recorded.size !== data.byteLength || recorded.sha256 !== (await sha256Hex(data))) {
        throw new BundleError(base, `${folder}/${name} is corrupt: its size or SHA-256 does not match saccade.json`);
      }
      return new Response(data, { status: response.status, headers: response.headers });
    },
  });
}
