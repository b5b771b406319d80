import { saccadePreset } from '@saccade/vitest-config';
import { defineConfig } from 'vitest/config';

export default defineConfig(saccadePreset({ setupFiles: ['./src/test-setup.ts'] }));
