import { saccadePreset } from '@saccade/vitest-config';
import { defineConfig } from 'vitest/config';

export default defineConfig(saccadePreset());
