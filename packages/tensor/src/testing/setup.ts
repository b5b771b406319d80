// Test setup for this package: the wasm backend with Saccade's kernels; cpu stays registered as the reference.
import { initBackend } from '../backend.js';

await initBackend(process.env.SACCADE_BACKEND || 'wasm');
