import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', browser: 'src/browser.ts', 'bench/decode': 'bench/decode.ts' },
  format: ['esm'],
  dts: { entry: { index: 'src/index.ts', browser: 'src/browser.ts' } },
  sourcemap: true,
  clean: true,
  target: 'node20',
});
