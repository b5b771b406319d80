// Node-only helpers (`@saccade/tensor/node`): file IO for tfjs models.
export { fileIO, isInside, ModelFileError, writeFileAtomic } from './file-io.js';
export type { FileIOOptions } from './file-io.js';
