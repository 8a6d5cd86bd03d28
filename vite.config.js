// Vite serves the page and bundles the workers. The Python package (py/filterlab) and the
// WGSL shaders (shaders/) reach the workers through import.meta.glob in app/workers/runtime.js,
// so dev and build see the same files. Pyodide itself is self-hosted from public/pyodide/,
// which `make provision` fills with hash-checked files; the build copies it into dist/.
import { defineConfig } from "vite";

// The Content-Security-Policy of every page, written once: each HTML page gets it as a
// <meta http-equiv> (so any static host enforces it), and the dev and preview servers send it
// as a header (which also covers the workers, whose scripts a <meta> cannot reach).
// Everything is same-origin. 'wasm-unsafe-eval' lets Pyodide compile WebAssembly; the app
// needs neither 'unsafe-eval' nor inline scripts. blob: and data: images are its own exports.
const policy = (script) => [
  "default-src 'self'",
  `script-src ${script}`,
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self' blob: data:",
  "object-src 'none'",
  "base-uri 'none'",
].join("; ");
export const CONTENT_SECURITY_POLICY = policy("'self' 'wasm-unsafe-eval'");
// The benchmark page is developer tooling, not the app: its peer OpenCV.js (Emscripten's
// embind) builds functions with `new Function`, which needs 'unsafe-eval' there alone.
const BENCH_POLICY = policy("'self' 'wasm-unsafe-eval' 'unsafe-eval'");
const policyOf = (path) => (/(^|\/)bench\.html$/.test(path ?? "") ? BENCH_POLICY : CONTENT_SECURITY_POLICY);

const contentSecurityPolicy = {
  name: "filterlab-content-security-policy",
  transformIndexHtml: (html, { path, filename }) => [
    { tag: "meta", attrs: { "http-equiv": "Content-Security-Policy", content: policyOf(filename ?? path) }, injectTo: "head-prepend" },
  ],
  configureServer(server) {
    server.middlewares.use(sendPolicy);
  },
  configurePreviewServer(server) {
    server.middlewares.use(sendPolicy);
  },
};

function sendPolicy(request, response, next) {
  response.setHeader("Content-Security-Policy", policyOf(request.url?.split("?")[0]));
  next();
}

export default defineConfig({
  base: "./",
  publicDir: "public",
  plugins: [contentSecurityPolicy],
  server: {
    host: "127.0.0.1",
    port: 5173,
    strictPort: true,
    watch: { ignored: ["**/.venv/**", "**/.cache/**", "**/tests/**"] },
  },
  worker: { format: "es" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 2048,
    rollupOptions: {
      input: { main: "index.html", bench: "bench.html" },
      // The benchmark's peers (bench.html?mode=peers) load only there; naming their chunk
      // makes it plain in dist/ that the app's own chunks hold none of them.
      output: { manualChunks: (id) => (id.includes("/node_modules/@tensorflow/") ? "peers-tfjs" : undefined) },
    },
  },
});
