/** AdaFocusV2's own config fields. */
import { z } from 'zod';

import type { ConfigOf } from '../../config/base.js';

export const ADAFOCUS_V2_FIELDS = {
  /** The dense readout's GRU width. */
  policyHidden: z.number().int().positive().max(4096).default(64),
  /**
   * Which glance feature map the policy reads: the last ('last', stride 8 for resnet_small: 4 x 4
   * at glance 32) or the stage before it ('previous', twice as fine).
   */
  policyMap: z.enum(['last', 'previous']).default('previous'),
  /**
   * How the policy turns the map into a centre. 'dense' (the paper's): 1x1 conv + BN + tanh,
   * flatten, linear, a GRU over the frames, linear + sigmoid. 'spatial': a 1x1 conv scores each cell
   * (from the map and its standardised channel maximum), the centre is the soft-argmax of the
   * scores; stateless, trained through the crop like 'dense'.
   */
  policyReadout: z.enum(['dense', 'spatial']).default('spatial'),
  /**
   * The spatial readout's cell positions: 'receptive' (the default) places each cell of the map at
   * its receptive field's centre in the frame (from the glance's layers); 'grid' at
   * ((i + 0.5) / h, (j + 0.5) / w), which put the patches' centres ~4 pixels below and right of
   * the item on average.
   */
  policyCells: z.enum(['grid', 'receptive']).default('receptive'),
  /**
   * The second, random-centre branch: 'all' (the paper's) trains the classifier and the focus head
   * on it; 'focus' trains only the focus network's head on it; 'none' (the default) drops the
   * branch (the spatial readout starts on the item, so the branch's exploration is not needed, and
   * it costs a third of a training step). With the paper's 'dense' readout, set 'all'.
   */
  randomBranch: z.enum(['all', 'focus', 'none']).default('none'),
  /**
   * The prediction after step k (inference only): 'focus' (the default: the focus head's
   * log-probabilities on the policy's patches averaged over the frames seen, TSN's consensus),
   * 'classifier' (the paper's: the step classifier's logits) or 'ensemble' (the mean of the step
   * classifier's and the glance and focus heads' log-probabilities).
   */
  prediction: z.enum(['classifier', 'ensemble', 'focus']).default('focus'),
} satisfies z.ZodRawShape;

export type AdaFocusV2Config = ConfigOf<'adafocus_v2', typeof ADAFOCUS_V2_FIELDS>;
