export { exportGruSequence, exportLayersModel, OnnxExportError, OPSET } from './export.js';
export type { ExportedModel, OnnxExportErrorCode } from './export.js';
export { OnnxRuntime, OnnxRuntimeError } from './runtime.js';
export type { FloatTensor, OnnxRuntimeErrorCode, OnnxRuntimeOptions, OnnxSessionInfo, OnnxTransport } from './runtime.js';
export { createOnnxEngine, OnnxEngine } from './engine.js';
export type { OnnxEngineOptions } from './engine.js';
