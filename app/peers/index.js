// bench.html?mode=peers: Filter Lab's Gaussian blur against other ways to compute it, in one
// page, on one image, with one σ:
//   filterlab      the app's GPU worker (the real engine, as the app runs it)
//   naive-wgsl     a naive two-pass WGSL kernel on its own device (naive.js)
//   tfjs-webgpu    TensorFlow.js WebGPU depthwiseConv2d, 1×K then K×1 (tfjs.js)
//   opencv-js-f32  OpenCV.js cv.GaussianBlur on float32 (opencv.js)
//   opencv-js-u8   OpenCV.js cv.GaussianBlur on 8-bit
//   numpy-pyodide  the app's NumPy reference, run by its reference pool (the verifier)
// Query: size (4096), sigma (3), runs (10), cpu_runs (3: timed rounds for the CPU peers, which
// take seconds each at 4096²), warmup_ms (3000), spinup_ms (300), impls (comma-separated
// names; all by default).
//
// Each peer runs once to produce the output that is checked, then the GPU peers warm up for
// warmup_ms, then every peer runs in turn for `runs` rounds, the order rotating each round so
// that none always follows a slow CPU run. Before its GPU times are taken in a round, a GPU
// peer runs its sustained blurs back to back for spinup_ms: the readbacks and CPU peers before
// it leave the GPU idle, and an idle GPU lowers its clocks. Figures are medians. Timed per peer:
//   gpu_ms            one blur in one submit, no readback; timestamp queries where the adapter
//                     has them, else the wall clock to the queue's completion (gpu_clock says
//                     which); null for the CPU peers
//   sustained_gpu_ms  8 blurs in one submit, divided by 8: the kernels at full clocks
//   wall_ms           on the page's clock: one blur, starting from the input where the peer keeps
//                     it (GPU buffer, tensor, Mat, the GPU worker's image), until the whole
//                     result is in a JS typed array on the page (readback included)
import { decodeRgba8, gaussianRadius, gaussianWeights, maxAbsDiff, median, STEPS_SUSTAINED } from "./common.js";
import { naiveWgsl } from "./naive.js";
import { openCv } from "./opencv.js";
import { tfjsWebgpu } from "./tfjs.js";

const TOLERANCE = 1e-4;
const NAMES = ["filterlab", "naive-wgsl", "tfjs-webgpu", "opencv-js-f32", "opencv-js-u8", "numpy-pyodide"];

/** The app's GPU worker, driven as bench.js drives it. */
function filterLab(session, sigma) {
  const step = { op: "gaussian_blur", params: { sigma, mode: "reflect" } };
  const chain = JSON.stringify([step]);
  const chain8 = JSON.stringify(Array.from({ length: STEPS_SUSTAINED }, () => step));
  const timed = async (json) => (await session.gpu.call("run", { chain: json, present: false })).timings;
  const impl = {
    name: "filterlab",
    label: "Filter Lab: the app's GPU engine in its worker (gaussian_blur, mode reflect)",
    kind: "gpu",
    border: "reflect (scipy.ndimage)",
    excludeBorder: 0,
    input: "the 8-bit image, uploaded once when loaded; the first pass unpacks it",
    passes: null,
    gpu: async () => {
      const t = await timed(chain);
      impl.passes = t.passes;
      return { ms: t.gpuMs, clock: t.gpuClock };
    },
    sustained: async () => {
      const t = await timed(chain8);
      return { ms: t.gpuMs / STEPS_SUSTAINED, clock: t.gpuClock, steps: STEPS_SUSTAINED };
    },
    /** One blur, with the whole float32 result read back (mapAsync, NumPy, to the page). */
    wall: async () => (await session.gpu.call("run", { chain, pixels: true, present: false })).pixels,
    dispose: () => {},
  };
  return impl;
}

/** The NumPy reference, as the app runs it: tile by tile in its reference pool. */
function numpyReference(session, sigma) {
  const chain = JSON.stringify([{ op: "gaussian_blur", params: { sigma, mode: "reflect" } }]);
  const referenceMs = [];
  const impl = {
    name: "numpy-pyodide",
    label: "NumPy reference under Pyodide, the app's reference pool (session.verifier.run)",
    kind: "cpu",
    border: "reflect (scipy.ndimage)",
    excludeBorder: 0,
    input: "the image in the GPU worker, sent to the pool tile by tile",
    /**
     * One verification run with the reference pixels returned: the app's own path, so it also
     * runs the chain on the GPU once and compares each tile with it.
     */
    wall: async () => {
      const verdict = await session.verifier.run({ chain, pixels: true });
      referenceMs.push(verdict.referenceMs);
      impl.verifierMaxAbsError = verdict.metrics?.maxAbsError ?? null;
      impl.tiles = verdict.tiles;
      return verdict.pixels;
    },
    extra: () => ({
      workers: session.pool.size,
      workers_note: "wall_ms: the pool of `workers` Pyodide workers, as the app verifies; "
        + "reference_cpu_ms: the reference's compute time summed over tiles, about what one worker would take",
      reference_cpu_ms: median(referenceMs),
      tiles: impl.tiles,
      verifier_max_abs_error: impl.verifierMaxAbsError,
    }),
    dispose: () => {},
  };
  return impl;
}

async function waitForPool(session, log) {
  const deadline = performance.now() + 300_000;
  await session.pool.ready;
  while (session.pool.readyCount < session.pool.size && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await log(`reference pool: ${session.pool.readyCount} of ${session.pool.size} workers ready`);
}

/**
 * The peers get the browser's decoding of the PNG, the app its own (Pillow): check that they
 * filter the same values. Returns the largest difference.
 */
async function checkInput(session, { width, height, f32 }) {
  const { pixels, channels } = await session.gpu.call("run", { chain: "[]", pixels: true, present: false });
  const d = channels === 4 ? maxAbsDiff(pixels, f32, width, height) : NaN;
  if (!(d <= 1e-6)) throw new Error(`the peers' input differs from the app's (channels ${channels}, max |Δ| ${d})`);
  return d;
}

export async function peers(session, { log, testImage }) {
  const query = new URLSearchParams(location.search);
  const size = Number(query.get("size") ?? 4096);
  const sigma = Number(query.get("sigma") ?? 3);
  const runs = Number(query.get("runs") ?? 10);
  const cpuRuns = Math.min(runs, Number(query.get("cpu_runs") ?? 3));
  const warmupMs = Number(query.get("warmup_ms") ?? 3000);
  const spinupMs = Number(query.get("spinup_ms") ?? 300);
  const wanted = query.get("impls")?.split(",") ?? NAMES;
  const unknown = wanted.filter((n) => !NAMES.includes(n));
  if (unknown.length) throw new Error(`unknown implementation(s) ${unknown.join(", ")}; known: ${NAMES.join(", ")}`);
  const radius = gaussianRadius(sigma);
  const weights = gaussianWeights(sigma);

  await log(`making a ${size}² RGBA test image`);
  const png = await testImage(size);
  const image = await decodeRgba8(png);
  await session.loadImage(png);
  const inputDiff = await checkInput(session, image);

  const makers = {
    "filterlab": () => filterLab(session, sigma),
    "naive-wgsl": () => naiveWgsl(image, weights),
    "tfjs-webgpu": () => tfjsWebgpu(image, weights),
    "opencv-js-f32": () => openCv(image, sigma, radius, "f32"),
    "opencv-js-u8": () => openCv(image, sigma, radius, "u8"),
    "numpy-pyodide": async () => {
      await waitForPool(session, log);
      return numpyReference(session, sigma);
    },
  };
  // The output every other is compared with: NumPy's when it runs, else the first one's.
  const order = ["numpy-pyodide", ...NAMES.filter((n) => n !== "numpy-pyodide")].filter((n) => wanted.includes(n));
  const anchorName = order[0];
  const impls = [];
  const rows = new Map();
  let anchor = null;
  for (const name of order) {
    await log(`setting up ${name}`);
    const impl = await makers[name]();
    impls.push(impl);
    const t0 = performance.now();
    const output = await impl.wall(); // the first run: its output is the one checked
    const firstMs = performance.now() - t0;
    const row = {
      name: impl.name, label: impl.label, kind: impl.kind, border: impl.border, input: impl.input,
      output: impl.output ?? "float32", first_run_ms: firstMs,
      gpu: [], sustained: [], wall: [], clock: null, sustainedClock: null,
    };
    if (anchor === null) {
      anchor = output;
      Object.assign(row, { compared_with: null, maxAbsDiff: null, agrees: null });
    } else {
      compare(row, impl, output, anchor, anchorName, size);
    }
    rows.set(name, row);
    await log(`${name}: first run ${firstMs.toFixed(1)} ms, max |Δ| ${row.maxAbsDiff}`);
  }
  image.u8 = image.f32 = null; // every peer has its own copy now
  // The anchor is checked against Filter Lab: the same pair, seen from the other side.
  if (anchorName === "numpy-pyodide" && rows.has("filterlab")) {
    const { maxAbsDiff: d, agrees } = rows.get("filterlab");
    Object.assign(rows.get(anchorName), { compared_with: "filterlab", compared_region: "all", tolerance: TOLERANCE, maxAbsDiff: d, agrees });
  }
  anchor = null;

  const gpuImpls = impls.filter((i) => i.kind === "gpu");
  const runGpu = async (impl, row) => {
    for (const until = performance.now() + spinupMs; performance.now() < until;) await impl.sustained();
    const g = await impl.gpu();
    row.gpu.push(g.ms);
    row.clock = g.clock;
    const s = await impl.sustained();
    row.sustained.push(s.ms);
    row.sustainedClock = s.clock;
    row.sustainedSteps = s.steps;
  };
  await log(`warming up the GPU peers for ${warmupMs} ms`);
  const warmUntil = performance.now() + warmupMs;
  while (gpuImpls.length && performance.now() < warmUntil) {
    for (const impl of gpuImpls) {
      await runGpu(impl, { gpu: [], sustained: [] });
      await impl.wall();
    }
  }
  for (let round = 0; round < runs; round++) {
    for (let k = 0; k < impls.length; k++) {
      const impl = impls[(k + round) % impls.length];
      const row = rows.get(impl.name);
      if (impl.kind === "gpu") await runGpu(impl, row);
      else if (round >= cpuRuns) continue;
      const t0 = performance.now();
      await impl.wall();
      row.wall.push(performance.now() - t0);
    }
    await log(`round ${round + 1} of ${runs} done`);
  }

  const implementations = impls.map((impl) => {
    const r = rows.get(impl.name);
    const out = {
      name: r.name,
      gpu_ms: impl.kind === "gpu" ? median(r.gpu) : null,
      wall_ms: median(r.wall),
      agrees: r.agrees,
      maxAbsDiff: r.maxAbsDiff,
      label: r.label,
      kind: r.kind,
      gpu_clock: impl.kind === "gpu" ? r.clock : null,
      sustained_gpu_ms: impl.kind === "gpu" ? median(r.sustained) : null,
      sustained_clock: impl.kind === "gpu" ? r.sustainedClock : null,
      sustained_steps: impl.kind === "gpu" ? r.sustainedSteps : null,
      samples: { gpu: r.gpu.length, wall: r.wall.length },
      first_run_ms: r.first_run_ms,
      compared_with: r.compared_with,
      compared_region: r.compared_region ?? null,
      tolerance: r.tolerance ?? null,
      ...(r.maxAbsDiff_8bit_levels !== undefined ? { maxAbsDiff_8bit_levels: r.maxAbsDiff_8bit_levels } : {}),
      border: r.border,
      input: r.input,
      output: r.output,
      ...(impl.adapter ? { adapter: impl.adapter } : {}),
      ...(impl.passes ? { passes: impl.passes } : {}),
      ...(impl.extra?.() ?? {}),
    };
    impl.dispose();
    return out;
  });
  return {
    mode: "peers",
    size,
    sigma,
    radius,
    runs,
    cpu_runs: cpuRuns,
    warmup_ms: warmupMs,
    spinup_ms: spinupMs,
    image: { width: size, height: size, channels: 4, bits: 8, alpha: "opaque", source: "bench.js testImage(size)" },
    input_max_abs_diff: inputDiff,
    reference: anchorName,
    tolerance: TOLERANCE,
    implementations,
  };
}

/**
 * Compare a peer's first output with the anchor's, on the region where their border rules
 * agree. Float outputs must be within TOLERANCE. An 8-bit output is compared as value / 255 and
 * must be within 1.5 levels (1.5 / 255), that is at most one level away from the reference
 * rounded to 8 bits: rounding alone accounts for half a level, and OpenCV's 8-bit Gaussian,
 * which quantises its weights to 8 fractional bits, can add up to about one more at a sharp
 * edge.
 */
function compare(row, impl, output, anchor, anchorName, size) {
  const border = impl.excludeBorder ?? 0;
  const eightBit = output instanceof Uint8Array || output instanceof Uint8ClampedArray;
  const tolerance = eightBit ? 1.5 / 255 : TOLERANCE;
  const d = maxAbsDiff(output, anchor, size, size, border);
  Object.assign(row, {
    compared_with: anchorName,
    compared_region: border ? `interior: ${border}-pixel border left out (${size - 2 * border}² of ${size}²)` : "all",
    tolerance,
    maxAbsDiff: d,
    ...(eightBit ? { maxAbsDiff_8bit_levels: d * 255 } : {}),
    agrees: size > 2 * border && d <= tolerance,
  });
}
