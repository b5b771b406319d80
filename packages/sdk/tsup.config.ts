import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    browser: 'src/browser.ts',
    internal: 'src/internal.ts',
    'train-worker': 'src/node/train-worker.ts',
    'bench/memory': 'bench/memory.ts',
  },
  format: ['esm'],
  dts: { entry: { index: 'src/index.ts', browser: 'src/browser.ts', internal: 'src/internal.ts' } },
  sourcemap: true,
  clean: true,
  target: 'node20',
});
