// JSX without a plugin: esbuild's automatic runtime. `vite dev` proxies the API to a local
// `ai-credits serve`, so the page and the API share an origin (or start the server with
// --cors-origin http://localhost:5173).
export default {
  esbuild: { jsx: 'automatic' },
  build: { target: 'es2022' },
  server: { proxy: { '/v1': 'http://127.0.0.1:8080' } },
};
