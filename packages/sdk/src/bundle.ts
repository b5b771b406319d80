/**
 * Model bundles, the universal part: saccade.json's content (made from a trained network, and
 * checked when read) and loading a bundle from any tfjs IOHandler factory (files in Node, http in
 * the browser). A bundle is a folder: saccade.json plus one tfjs-layers model.json + weight shards
 * per sub-network, in a folder named after it.
 */
import * as tf from '@tensorflow/tfjs';

import { parseConfig } from './config.js';
import { migrateConfigV1 } from './config/v1.js';
import { checkParts, createVideoNet } from './create.js';
import { bindEngine, type InferenceEngine } from './engine.js';
import { frameOrder } from './frame_order.js';
import { BundleError, ConfigError } from './errors.js';
import { methodSpec } from './methods/registry.js';
import { BUNDLE_FORMAT, BUNDLE_VERSION, decodeThresholds, SaccadeModel, type BundleMeta, type ExitBudget, type VideoDecoder } from './model.js';
import type { VideoNet } from './video_net.js';

export const SACCADE_VERSION = '0.1.0';

export function createMeta(
  net: VideoNet,
  classes: readonly string[],
  extras: { exit?: BundleMeta['exit']; metrics?: Record<string, unknown> } = {},
): BundleMeta {
  const c = net.config;
  const perStep = net.gflopsPerStep();
  return {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    method: c.method,
    patches: c.patches,
    classes: [...classes],
    frames: c.frames,
    steps: net.steps,
    ...(net.frameOrder ? { frameOrder: [...net.frameOrder] } : {}),
    frameSize: c.frameSize,
    glanceSize: c.glanceSize,
    patchSize: c.patchSize,
    normalisation: { mean: [...c.mean], std: [...c.std] },
    gflopsPerStep: perStep,
    gflopsPerVideo: perStep.reduce((a, b) => a + b, 0),
    ...(extras.exit ? { exit: extras.exit } : {}),
    config: c,
    models: Object.fromEntries(Object.keys(net.models()).map((name) => [name, name])),
    ...(extras.metrics ? { metrics: extras.metrics } : {}),
    createdBy: `@saccade/sdk ${SACCADE_VERSION}`,
  };
}

/** Check a parsed saccade.json; `where` names the bundle in errors. */
export function checkMeta(json: unknown, where: string): BundleMeta {
  const m = json as Partial<BundleMeta> | null;
  if (!m || typeof m !== 'object' || m.format !== BUNDLE_FORMAT)
    throw new BundleError(where, `saccade.json is not a Saccade bundle (format ${JSON.stringify(m?.format)})`);
  if (m.version === 1) Object.assign(m, migrateBundleV1(m));
  else if (m.version !== BUNDLE_VERSION)
    throw new BundleError(
      where,
      `bundle version ${m.version} was written by another Saccade; this one (${SACCADE_VERSION}) reads versions 1 and ${BUNDLE_VERSION}`,
    );
  if (!Array.isArray(m.classes) || m.classes.length < 2 || m.classes.some((c) => typeof c !== 'string'))
    throw new BundleError(where, 'saccade.json: classes must be a list of at least two names');
  if (!m.models || typeof m.models !== 'object') throw new BundleError(where, 'saccade.json: models is missing');
  // A sub-network's folder is one plain name inside the bundle: never a path that leaves it.
  for (const [name, folder] of Object.entries(m.models)) {
    if (typeof folder !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(folder) || folder.includes('..')) {
      throw new BundleError(where, `saccade.json: models.${name} must be a folder name inside the bundle, got ${JSON.stringify(folder)}`);
    }
  }
  if (m.weights !== undefined) {
    if (!m.weights || typeof m.weights !== 'object' || Array.isArray(m.weights))
      throw new BundleError(where, 'saccade.json: weights must map shard paths to { size, sha256 }');
    for (const [path, w] of Object.entries(m.weights)) {
      if (!w || !Number.isInteger(w.size) || w.size < 0 || typeof w.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(w.sha256)) {
        throw new BundleError(where, `saccade.json: weights[${JSON.stringify(path)}] must be { size: bytes, sha256: 64 hex digits }`);
      }
    }
  }
  // A bundle from before `fit` existed read its frames squashed.
  if (m.config && typeof m.config === 'object' && !('fit' in m.config))
    m.config = { ...(m.config as Record<string, unknown>), fit: 'squash' } as unknown as BundleMeta['config'];
  try {
    m.config = parseConfig(m.config);
  } catch (error) {
    if (error instanceof ConfigError) throw new BundleError(where, `saccade.json: ${error.message}`);
    throw error;
  }
  for (const k of ['frames', 'frameSize', 'glanceSize', 'patchSize'] as const) {
    if (m[k] !== m.config[k]) throw new BundleError(where, `saccade.json: ${k} ${m[k]} disagrees with config.${k} ${m.config[k]}`);
  }
  if (m.method !== m.config.method) throw new BundleError(where, `saccade.json: method ${m.method} disagrees with config.method ${m.config.method}`);
  const steps = methodSpec(m.config.method).steps(m.config);
  if (m.steps !== steps) throw new BundleError(where, `saccade.json: steps ${m.steps} disagrees with the config's ${steps}`);
  // The frame order the bundle records is the one its config implies (the network follows the config).
  const spec = methodSpec(m.config.method);
  const order = frameOrder(m.config.frames, m.config.frameOrder);
  const implied = (spec.stepsAreFrames ?? true) && !order.every((f, k) => f === k) ? order : undefined;
  if (JSON.stringify(m.frameOrder) !== JSON.stringify(implied))
    throw new BundleError(
      where,
      `saccade.json: frameOrder ${JSON.stringify(m.frameOrder ?? 'absent')} disagrees with the config's ${m.config.frameOrder} order ${JSON.stringify(implied ?? 'absent')}`,
    );
  if (!Array.isArray(m.gflopsPerStep) || m.gflopsPerStep.length !== steps)
    throw new BundleError(where, `saccade.json: gflopsPerStep must have ${steps} entries`);
  if (m.exit) {
    m.exit = {
      score: m.exit.score,
      budgets: m.exit.budgets.map((b: ExitBudget) => {
        if (!Array.isArray(b.thresholds) || b.thresholds.length !== steps)
          throw new BundleError(where, `saccade.json: exit thresholds must have ${steps} entries`);
        return { ...b, thresholds: decodeThresholds(b.thresholds as (number | string)[]) };
      }),
    };
  }
  return m as BundleMeta;
}

/**
 * Load every sub-network with `handler(folder)` and build the model. `expectMethod`: refuse a bundle
 * of another method (a BundleError naming both) instead of loading it.
 */
export async function loadBundleWith(
  meta: BundleMeta,
  where: string,
  handler: (folder: string) => tf.io.IOHandler | string,
  decoder?: VideoDecoder,
  expectMethod?: BundleMeta['method'],
  /** Bound to the sub-networks before the network is built; the caller disposes it if this throws. */
  engine?: InferenceEngine,
): Promise<SaccadeModel> {
  if (expectMethod && meta.method !== expectMethod) throw new BundleError(where, `holds a ${meta.method} model, not ${expectMethod}`);
  // The sub-networks' names are checked before any is loaded, and their outputs once they are.
  try {
    checkParts(meta.config, Object.keys(meta.models), undefined, 'saccade.json: models');
  } catch (error) {
    throw new BundleError(where, (error as Error).message);
  }
  const loaded: Record<string, tf.LayersModel> = {};
  try {
    for (const [name, folder] of Object.entries(meta.models)) {
      try {
        const h = handler(folder);
        loaded[name] = await tf.loadLayersModel(h as tf.io.IOHandler);
      } catch (error) {
        if (error instanceof BundleError) throw error;
        throw new BundleError(where, `sub-network ${name} (${folder}/model.json) cannot be loaded: ${(error as Error).message}`);
      }
    }
    // Bound before the network is made, so that the views it makes of them are bound too.
    if (engine) for (const m of Object.values(loaded)) bindEngine(m, engine);
    let net: VideoNet;
    try {
      net = createVideoNet(meta.config, meta.classes.length, loaded);
    } catch (error) {
      throw new BundleError(where, `the sub-networks do not make a ${meta.method} network of ${meta.classes.length} classes: ${(error as Error).message}`);
    }
    return new SaccadeModel(net, meta, decoder, engine);
  } catch (error) {
    for (const m of Object.values(loaded)) m.dispose();
    throw error;
  }
}

/**
 * A version-1 saccade.json as version 2: its config migrated (migrateConfigV1: the method's own
 * fields, with the values of fields it predates), `steps` filled for bundles from before AdaFocus V3
 * (one step per frame). Everything else, the sub-networks included, is as version 1 stored it.
 */
export function migrateBundleV1(v1: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const config = migrateConfigV1(v1['config']) as Record<string, unknown> | undefined;
  const steps = v1['steps'] ?? (config?.['method'] === 'adafocus_v3' ? config['focusFrames'] : config?.['frames']);
  return { ...v1, version: 2, config, ...(steps !== undefined ? { steps } : {}) };
}
