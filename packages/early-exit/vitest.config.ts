import { saccadePreset } from '@saccade/vitest-config';
import { defineConfig } from 'vitest/config';

// Metrics work on plain arrays and never touch tfjs, so there are no tensors to guard.
export default defineConfig(saccadePreset({ leakGuard: false }));
