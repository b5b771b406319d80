// The app's test builds the page with Vite and drives Debian's Chromium; the Node side's tensors
// are the SDK's own (classify disposes them), so the leak guard stays on.
import { saccadePreset } from '@saccade/vitest-config';
import { defineConfig } from 'vitest/config';

export default defineConfig(saccadePreset({ testTimeout: 600_000 }));
