export { BACKBONE_NAMES, countParams, createBackbone, describeBackbones } from './backbone.js';
export type { Backbone, BackboneOptions } from './backbone.js';
export { BackboneError, BackboneOptionError, UnknownBackboneError, WeightFormatError, WeightMismatchError } from './errors.js';
export type { PaddingMode } from './layers.js';
export { makeDivisible } from './mobilenet_v2.js';
export { countFlops } from './flops.js';
export type { FlopsReport, LayerFlops } from './flops.js';
