/** The methods the SDK ships, in the order they are listed: one line per method. */
import { ADAFOCUS_V1 } from './adafocus_v1/index.js';
import { ADAFOCUS_V1_TSM } from './adafocus_v1_tsm/index.js';
import { ADAFOCUS_V2 } from './adafocus_v2/index.js';
import { GLANCE } from './glance/index.js';
import type { AnyMethodSpec } from './spec.js';
import { UNI_ADAFOCUS } from './uni_adafocus/index.js';
import { UNIFORM } from './uniform/index.js';

export const BUILTIN_METHODS: readonly AnyMethodSpec[] = [ADAFOCUS_V2, ADAFOCUS_V1, ADAFOCUS_V1_TSM, UNI_ADAFOCUS, UNIFORM, GLANCE];
