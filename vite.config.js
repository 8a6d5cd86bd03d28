// Vite serves the page and bundles the workers. The Python package (py/filterlab) and the
// WGSL shaders (shaders/) reach the workers through import.meta.glob in app/workers/runtime.js,
// so dev and build see the same files. Pyodide itself is self-hosted from public/pyodide/,
// which `make provision` fills with hash-checked files; the build copies it into dist/.
import { defineConfig } from "vite";

export default defineConfig({
  base: "./",
  publicDir: "public",
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
