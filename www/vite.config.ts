/// <reference types="vitest/config" />
import { defineConfig } from 'vite';

// The app is served by `ai-credits serve --www www/dist` on the API's origin, so API calls are
// same-origin. `vite dev` proxies them to a server on 127.0.0.1:8080 for the same effect.
export default defineConfig({
  // asset-manifest.json lists the build's files for the offline shell (public/sw.js).
  build: { target: 'es2022', sourcemap: true, manifest: 'asset-manifest.json' },
  server: {
    proxy: { '/v1': 'http://127.0.0.1:8080', '/demo': 'http://127.0.0.1:8080' },
  },
  test: { include: ['tests/**/*.test.ts'], environment: 'node' },
});
