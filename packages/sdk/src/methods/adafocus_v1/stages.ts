/** AdaFocus V1's training stages, shared by its MethodSpec (what trains when) and its network (which loss a stage index means). */
import type { TrainingStage } from '../../config/base.js';
import type { AdaFocusV1Config } from './schema.js';

/** What a stage trains: the paper's stage 0 (backbones), 1 (focus + classifier), 2 (policy), 3 (classifier). */
export type V1StageKind = 'backbones' | 'focus' | 'policy' | 'classifier';

export type V1Stage = TrainingStage & { kind: V1StageKind };

/**
 * The PPO stage of AdaFocus V1 (and of its Something-Something model): the policy alone, none with
 * random patches, on its own Adam at a constant rate when `ppoAdamLr` is set (the paper's 3e-4).
 */
export function ppoStage(c: { patches: string; rlEpochs: number; ppoAdamLr?: number | undefined }): TrainingStage & { kind: 'policy' } {
  const random = c.patches === 'random';
  return {
    kind: 'policy',
    name: random ? 'stage 2: none (random policy)' : 'stage 2: policy (PPO)',
    epochs: random ? 0 : c.rlEpochs,
    parts: ['policy'],
    ...(c.ppoAdamLr !== undefined && !random ? { optimizer: { kind: 'adam' as const, lr: c.ppoAdamLr } } : {}),
  };
}

export function v1Stages(c: AdaFocusV1Config): V1Stage[] {
  // patches 'random': the paper's ablation, the same stages with a random policy (nothing to learn in stage 2).
  const random = c.patches === 'random';
  const main = (
    [
      {
        kind: 'focus' as const,
        name: 'stage 1: focus + classifier, random patches',
        epochs: c.epochs,
        parts: c.pretrained || c.backboneEpochs > 0 ? ['focus', 'classifier'] : ['glance', 'focus', 'classifier'],
      },
      ppoStage(c),
      {
        kind: 'classifier' as const,
        name: `stage 3: classifier${random ? ', random patches' : c.finetunePatches === 'best' ? ', most likely patches' : ''}`,
        epochs: c.finetuneEpochs,
        parts: ['classifier'],
      },
    ] satisfies V1Stage[]
  ).slice(0, c.stages) as V1Stage[];
  if (c.backboneEpochs === 0) return main;
  return [{ kind: 'backbones', name: 'stage 0: glance + focus backbones on whole frames', epochs: c.backboneEpochs, parts: ['glance', 'focus'] }, ...main];
}
