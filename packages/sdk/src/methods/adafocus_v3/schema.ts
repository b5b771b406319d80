/** AdaFocus V3's own config fields. */
import { z } from 'zod';

import type { ConfigOf } from '../../config/base.js';

export const ADAFOCUS_V3_FIELDS = {
  /** The temporal policy's hidden width. */
  policyHidden: z.number().int().positive().max(4096).default(64),
  /** Focus frames per video (K of the T frames; the steps of its early exit). */
  focusFrames: z.number().int().positive().max(256).default(8),
} satisfies z.ZodRawShape;

export type AdaFocusV3Config = ConfigOf<'adafocus_v3', typeof ADAFOCUS_V3_FIELDS>;
