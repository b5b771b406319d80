import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'testing/index': 'src/testing/index.ts',
    'node/index': 'src/node/index.ts',
    'bench/train-step': 'bench/train-step.ts',
  },
  format: ['esm'],
  dts: { entry: { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts', 'node/index': 'src/node/index.ts' } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  external: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
});
