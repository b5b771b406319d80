// The web app: workspace packages are read from their TypeScript sources (the `@saccade/source`
// export condition), so the app needs no package build first. The shipped demo model and sample
// clips are in public/demo (scripts/make-demo.mjs makes them from a `saccade demo` run).
import { defineConfig } from 'vite';

export default defineConfig({
  resolve: { conditions: ['@saccade/source', 'browser', 'module', 'import', 'default'] },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
  // tfjs-backend-wasm's .wasm binaries are imported with ?url and must stay files.
  assetsInclude: ['**/*.wasm'],
});
