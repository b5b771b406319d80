import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', 'bench/backbones': 'bench/backbones.ts' },
  format: ['esm'],
  dts: { entry: { index: 'src/index.ts' } },
  sourcemap: true,
  clean: true,
  target: 'node20',
  // Runtime imports: the ONNX Runtime binding (an optional peer) and the bench's workspace packages.
  external: ['onnxruntime-node', /^@tensorflow\//, /^@saccade\//],
});
