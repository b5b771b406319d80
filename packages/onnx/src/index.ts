export { exportLayersModel, OnnxExportError, OPSET } from './export.js';
export type { ExportedModel, OnnxExportErrorCode } from './export.js';
