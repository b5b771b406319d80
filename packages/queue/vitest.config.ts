import { saccadePreset } from '@saccade/vitest-config';
import { defineConfig } from 'vitest/config';

// The queue moves job payloads and results; it never touches tfjs, so there are no tensors to guard.
export default defineConfig(saccadePreset({ leakGuard: false }));
