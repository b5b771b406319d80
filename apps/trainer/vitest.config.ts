// The CLI tests run the binary in child processes; no tensors live in the test process itself.
import { saccadePreset } from '@saccade/vitest-config';
import { defineConfig } from 'vitest/config';

export default defineConfig(saccadePreset({ leakGuard: false, testTimeout: 600_000 }));
