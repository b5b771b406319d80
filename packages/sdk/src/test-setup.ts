import { initBackend } from '@saccade/tensor';

await initBackend(process.env.SACCADE_BACKEND || 'wasm');
