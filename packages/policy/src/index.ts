export { PolicyOptionError } from './errors.js';
export { buildInterpModels, createInterpPolicy, wrapInterpPolicy } from './interp.js';
export type { InterpPolicy, InterpPolicyOptions, PolicyStep } from './interp.js';
