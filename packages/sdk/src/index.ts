export { createStepClassifier } from './classifier.js';
export type { ClassifierOptions, StepClassifier } from './classifier.js';
export { adaFocusV2Loss, createAdaFocusV2, resolveConfig } from './adafocus.js';
export type { AdaFocusV2, AdaFocusV2Config, ForwardResult, PatchSource } from './adafocus.js';
