// Benchmark and accuracy-grid page. It drives the same workers as the app.
//   ?mode=bench&size=4096&runs=20  GPU timings of the benchmark chain (timestamp queries);
//        &chain=gauss8|box8|copy8|edges8 or JSON picks another chain, and
//        &entries=separable.along_x:along_x_direct swaps a shader entry point (variants)
//   ?mode=grid                      worst GPU-vs-reference error per operation
//   ?mode=present                   the presented GPU frame against the CPU reference, 8-bit
// The result is printed and POSTed to /__result; progress lines go to /__log.
import { Session } from "./session.js";

const query = new URLSearchParams(location.search);
const out = document.getElementById("out");

async function post(path, body) {
  try {
    await fetch(path, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body) });
  } catch {
    // no harness listening: the page output is the result
  }
}
const log = (line) => {
  out.textContent += `\n${line}`;
  return post("/__log", line);
};

const SHARPEN_5X5 = Array.from({ length: 5 }, (_, r) =>
  Array.from({ length: 5 }, (_, c) => (r === 2 && c === 2 ? 2 : 0) - 1 / 25));
export const BENCH_CHAIN = [
  { op: "gaussian_blur", params: { sigma: 3 } },
  { op: "edges", params: { operator: "sobel", output: "magnitude" } },
  { op: "convolve", params: { kernel: SHARPEN_5X5 } },
];

// Eight identical steps in one submit: per-pass cost under sustained load.
const repeat = (step) => Array.from({ length: 8 }, () => step);
const STRESS_CHAINS = {
  benchmark: BENCH_CHAIN,
  gauss8: repeat({ op: "gaussian_blur", params: { sigma: 3 } }),
  box8: repeat({ op: "box_blur", params: { size: 3 } }),
  copy8: repeat({ op: "convolve", params: { kernel: [[1]] } }),
  edges8: repeat({ op: "edges", params: {} }),
};

/** An RGBA 8-bit PNG: smooth gradients with a little noise, so it compresses. */
async function testImage(size) {
  const canvas = new OffscreenCanvas(size, size);
  const ctx = canvas.getContext("2d");
  const g = ctx.createLinearGradient(0, 0, size, size);
  g.addColorStop(0, "#102040");
  g.addColorStop(0.5, "#e0a030");
  g.addColorStop(1, "#20c0a0");
  ctx.fillStyle = g;
  ctx.fillRect(0, 0, size, size);
  for (let i = 0; i < 400; i++) {
    ctx.fillStyle = `hsla(${(i * 37) % 360}, 70%, 50%, 0.5)`;
    ctx.fillRect((i * 997) % size, (i * 613) % size, size / 16, size / 16);
  }
  const blob = await canvas.convertToBlob({ type: "image/png" });
  return new Uint8Array(await blob.arrayBuffer());
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};

async function bench(session) {
  const named = query.get("chain") ?? "benchmark";
  const chain = STRESS_CHAINS[named] ?? JSON.parse(named);
  const chainJson = JSON.stringify(chain);
  const size = Number(query.get("size") ?? 4096);
  const runs = Number(query.get("runs") ?? 20);
  // Variants ("|"-separated entry-point swaps, "" = the engine's choice) are measured
  // interleaved, after a warm-up, so GPU clock changes hit them alike.
  const variants = (query.get("entries") ?? "").split("|");
  const setVariant = (v) => session.gpu.call("debug", { action: "entries", argument: v });
  await log(`making a ${size}² RGBA test image`);
  const image = await testImage(size);
  await log("loading it in the GPU worker");
  const uploads = [];
  for (let i = 0; i < 3; i++) {
    await session.gpu.call("load", { data: image }); // a fresh load forces a fresh upload
    const r = await session.gpu.call("run", { chain: chainJson, present: false });
    uploads.push(r.timings.uploadMs);
  }
  const warmUntil = performance.now() + Number(query.get("warmup_ms") ?? 3000);
  while (performance.now() < warmUntil) {
    for (const v of variants) {
      await setVariant(v);
      await session.gpu.call("run", { chain: chainJson, present: false });
    }
  }
  const samples = variants.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (const [k, v] of variants.entries()) {
      await setVariant(v);
      samples[k].push((await session.gpu.call("run", { chain: chainJson, present: false })).timings);
    }
  }
  await setVariant("");
  const readbacks = [];
  for (let i = 0; i < 5; i++) {
    const r = await session.gpu.call("run", { chain: chainJson, pixels: true, present: false });
    readbacks.push(r.timings.readbackMs);
  }
  const summary = (list) => {
    const labels = list[0].passes.map((p) => p.label);
    return {
      gpu_ms_median: median(list.map((s) => s.gpuMs)),
      passes_ms_median: Object.fromEntries(labels.map((label, i) => [label, median(list.map((s) => s.passes[i].ms))])),
      total_ms_median: median(list.map((s) => s.totalMs)),
    };
  };
  return {
    mode: "bench",
    size,
    runs,
    chain,
    clock: samples[0][0].gpuClock,
    variants: Object.fromEntries(variants.map((v, k) => [v || "default", summary(samples[k])])),
    upload_ms_median: median(uploads),
    readback_ms_median: median(readbacks),
  };
}

/** The accuracy grid's cases: every example of every catalog operation, in every border mode. */
function gridCases(catalog) {
  const modes = catalog[0].params.find((p) => p.name === "mode").choices;
  return catalog.flatMap((op) => op.examples.flatMap((params, i) =>
    modes.map((mode) => ({ op: op.name, example: i, chain: [{ op: op.name, params: { ...params, mode, cval: 0.25 } }] }))));
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Encode 8-bit gray, gray+alpha, RGB or RGBA pixels as a PNG (canvases only make RGBA). */
async function encodePng(width, height, channels, pixels) {
  const stride = width * channels;
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) raw.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  const deflated = new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate")));
  const idat = new Uint8Array(await deflated.arrayBuffer());
  const chunk = (type, data) => {
    const out = new Uint8Array(12 + data.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, data.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(data, 8);
    view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header.set([8, { 1: 0, 2: 4, 3: 2, 4: 6 }[channels], 0, 0, 0], 8);
  const parts = [Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10), chunk("IHDR", header), chunk("IDAT", idat), chunk("IEND", new Uint8Array())];
  return new Uint8Array(await new Blob(parts).arrayBuffer());
}

async function grid(session) {
  const sizes = [[1, 1], [13, 17], [48, 64], [67, 130]];
  const cases = gridCases(session.catalog);
  const worst = {};
  const worstExample = {};
  for (const [h, w] of sizes) {
    for (const channels of [1, 3, 4]) {
      const pixels = Uint8Array.from({ length: w * h * channels }, (_, i) => (Math.imul(i + 1, 2654435761) >>> 24));
      await session.loadImage(await encodePng(w, h, channels, pixels));
      for (const c of cases) {
        const r = await session.process(c.chain, { compare: true });
        const error = r.metrics.maxAbsError;
        worst[c.op] = Math.max(worst[c.op] ?? 0, error);
        const key = `${c.op} example ${c.example}`;
        worstExample[key] = Math.max(worstExample[key] ?? 0, error);
      }
      await log(`grid ${h}×${w}×${session.image.info.channels} done`);
    }
  }
  return { mode: "grid", cases: cases.length * sizes.length * 3, worst_max_abs_error: worst, worst_by_example: worstExample };
}

/** Draw the GPU worker's presented frame and compare it with the CPU reference's display. */
async function presentCheck(session) {
  const [w, h] = [61, 47];
  const pixels = Uint8Array.from({ length: w * h * 3 }, (_, i) => (Math.imul(i + 7, 2654435761) >>> 24));
  await session.loadImage(await encodePng(w, h, 3, pixels));
  const chain = JSON.stringify([{ op: "gaussian_blur", params: { sigma: 1.5 } }, { op: "unsharp_mask", params: {} }]);
  const gpu = await session.gpu.call("run", { chain, present: true });
  const cpu = await session.cpu.call("reference", { chain });
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext("2d");
  if (gpu.frame) ctx.drawImage(gpu.frame, 0, 0);
  else ctx.putImageData(new ImageData(gpu.display, w, h), 0, 0);
  const shown = ctx.getImageData(0, 0, w, h).data;
  let maxDiff = 0;
  for (let i = 0; i < shown.length; i++) maxDiff = Math.max(maxDiff, Math.abs(shown[i] - cpu.preview[i]));
  return { mode: "present", shownBy: gpu.frame ? "webgpu-canvas" : "readback", maxDiff8bit: maxDiff };
}

async function main() {
  const session = new Session();
  try {
    await session.start();
    const gpu = session.gpuInfo;
    await log(`adapter: ${JSON.stringify(gpu.adapter)}; present: ${gpu.present}`);
    if (!gpu.available) throw new Error(`no GPU: ${gpu.reason}`);
    const mode = query.get("mode");
    const result = mode === "grid" ? await grid(session) : mode === "present" ? await presentCheck(session) : await bench(session);
    result.adapter = gpu.adapter;
    result.present = gpu.present;
    result.userAgent = navigator.userAgent;
    result.date = new Date().toISOString();
    out.textContent = JSON.stringify(result, null, 2);
    await post("/__result", result);
  } catch (err) {
    out.textContent += `\nerror: ${err.message}`;
    await post("/__result", { error: err.message });
  }
}

main();
