// Benchmark and accuracy-grid page. It drives the same workers as the app.
//   ?mode=bench&size=4096&runs=20  GPU timings of the benchmark chain (timestamp queries);
//        &chain=gauss8,copy8 (comma-separated: benchmark, bench8, gauss8, box8, copy8, edges8,
//        or one JSON chain) picks the chains, measured one after the other on the same image, and
//        &entries=|separable=twopass|... lists variants, measured interleaved ("" = the
//        default; items as debug('entries') takes them: shader.entry:other swaps an entry
//        point, name=value sets a planning option, unfused keeps the unpack pass);
//        &spinup_ms=300 runs the chain back to back for that long, untimed, before each timed
//        run (0 by default): the page waits for each run, the GPU idles meanwhile and lowers
//        its clocks, so without it the figures are those of a chain run from idle
//   ?mode=upload&size=4096&runs=7&methods=write|chunks:4|mapped|staging|bitmap
//                                   each upload method on the same image, interleaved, with
//                                   a read-back check that the GPU holds exactly the samples
//   ?mode=scale&sizes=1024,2048,4096,8192&sigmas=1,3,8,16&entries=|separable=twopass
//                                   8 Gaussian steps in one submit at each size and σ, and 8
//                                   one-tap copies; per variant, interleaved
//   ?mode=grid                      worst GPU-vs-reference error per operation (&entries=one
//                                   variant for the whole grid)
//   ?mode=present                   the presented GPU frame against the CPU reference, 8-bit
//   ?mode=peers&size=4096&sigma=3   the Gaussian blur against other implementations, in this
//                                   page (app/peers/, loaded only in this mode)
//   ?mode=ui&size=4096&moves=8      what a user waits for: the app in a frame, driven through
//                                   its own controls (file input, Add step, the σ slider);
//                                   &uploads=staging,write&rounds=3: later files per method
//   ?mode=startup&loads=5           page to ready, per start-up phase, over fresh page loads
//                                   in a frame (the first is cold, later ones warm), each
//                                   followed by the runtime alone (Pyodide, NumPy, Pillow)
// The result is printed and POSTed to /__result; progress lines go to /__log.
import { sleep } from "./bridge.js";
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
const REPEATS = 8;
const repeat = (step) => Array.from({ length: REPEATS }, () => step);
const STRESS_CHAINS = {
  benchmark: BENCH_CHAIN,
  // the benchmark chain eight times over in one submit: gpu_ms_per_chain_median is its cost
  // with the GPU kept busy, where one chain a run leaves it idle between runs
  bench8: repeat(BENCH_CHAIN).flat(),
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

// The chain step a pass belongs to: "1:gaussian_blur x (unpacking)" -> "1:gaussian_blur"; a
// fused pass of two steps keeps both ("5:edges + 6:convolve"); passes of no step keep their label.
const stepOf = (label) => label.match(/^\d+:\S+(?: \+ \d+:\S+)*/)?.[0] ?? label;
const isStep = (label) => /^\d+:/.test(label);

/** Medians of one variant's runs: whole chain, each pass (and its kernel), each step. */
function summary(list) {
  const passes = list[0].passes;
  const steps = [...new Set(passes.map((p) => stepOf(p.label)))];
  const stepMs = (timings, step) => timings.passes.filter((p) => stepOf(p.label) === step).reduce((a, p) => a + p.ms, 0);
  const chained = steps.filter(isStep);
  return {
    gpu_ms_median: median(list.map((t) => t.gpuMs)),
    passes_ms_median: Object.fromEntries(passes.map((p, i) => [p.label, median(list.map((t) => t.passes[i].ms))])),
    kernels: Object.fromEntries(passes.map((p) => [p.label, p.kernel])),
    steps_ms_median: Object.fromEntries(steps.map((step) => [step, median(list.map((t) => stepMs(t, step)))])),
    // every step but the first, pooled: for chains of one step repeated (gauss8), the cost of
    // a step that reads float32, where the first reads the upload
    later_steps_ms_median: median(list.flatMap((t) => chained.slice(1).map((step) => stepMs(t, step)))),
    total_ms_median: median(list.map((t) => t.totalMs)),
  };
}

const setVariant = (session, v) => session.gpu.call("debug", { action: "entries", argument: v });
const runChain = async (session, chain) => (await session.gpu.call("run", { chain, present: false })).timings;

/** `runs` runs of `chain` per variant, interleaved so that GPU clock changes hit all alike. */
async function interleaved(session, chain, variants, runs, spinupMs = 0) {
  const samples = variants.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (const [k, v] of variants.entries()) {
      await setVariant(session, v);
      for (const until = performance.now() + spinupMs; performance.now() < until;) await runChain(session, chain);
      samples[k].push(await runChain(session, chain));
    }
  }
  await setVariant(session, "");
  return Object.fromEntries(variants.map((v, k) => [v || "default", summary(samples[k])]));
}

async function warmUp(session, chains, variants, ms) {
  const until = performance.now() + ms;
  do {
    for (const chain of chains) {
      for (const v of variants) {
        await setVariant(session, v);
        await runChain(session, chain);
      }
    }
  } while (performance.now() < until);
  await setVariant(session, "");
}

async function bench(session) {
  const names = (query.get("chain") ?? "benchmark").split(/,(?=[a-z])/);
  const chains = names.map((name) => STRESS_CHAINS[name] ?? JSON.parse(name));
  const size = Number(query.get("size") ?? 4096);
  const runs = Number(query.get("runs") ?? 20);
  const variants = (query.get("entries") ?? "").split("|");
  const spinupMs = Number(query.get("spinup_ms") ?? 0);
  // Timings never include a stand-in pipeline: specialised ones compile while a run waits.
  await session.gpu.call("debug", { action: "pipelines", argument: "specialised" });
  await log(`making a ${size}² RGBA test image`);
  const image = await testImage(size);
  await log("loading it in the GPU worker");
  const uploads = [];
  for (let i = 0; i < 3; i++) {
    const loaded = await session.gpu.call("load", { data: image }); // a fresh load uploads afresh
    uploads.push(loaded.timings.uploadMs);
  }
  const jsons = chains.map((chain) => JSON.stringify(chain));
  await warmUp(session, jsons, variants, Number(query.get("warmup_ms") ?? 3000));
  const results = {};
  for (const [i, name] of names.entries()) {
    await log(`measuring ${name}`);
    results[name] = { chain: chains[i], variants: await interleaved(session, jsons[i], variants, runs, spinupMs) };
    if (name === "bench8") {
      for (const v of Object.values(results[name].variants)) v.gpu_ms_per_chain_median = v.gpu_ms_median / REPEATS;
    }
  }
  const readbacks = [];
  for (let i = 0; i < 5; i++) {
    const r = await session.gpu.call("run", { chain: jsons[0], pixels: true, present: false });
    readbacks.push(r.timings.readbackMs);
  }
  return {
    mode: "bench",
    size,
    runs,
    spinup_ms: spinupMs,
    clock: (await runChain(session, jsons[0])).gpuClock,
    chains: results,
    upload_ms_median: median(uploads),
    readback_ms_median: readbacks.length ? median(readbacks) : null,
  };
}

/** Each upload method on the same image, interleaved; the GPU's copy is read back and compared. */
async function uploads(session) {
  const size = Number(query.get("size") ?? 4096);
  const runs = Number(query.get("runs") ?? 7);
  const methods = (query.get("methods") ?? "write|chunks:1|chunks:4|chunks:16|mapped|staging|bitmap").split("|");
  await log(`making a ${size}² RGBA test image`);
  const image = await testImage(size);
  const loads = [];
  const loadUploads = [];
  for (let i = 0; i < 3; i++) { // what the app does with a file: decode, upload, first frame
    const t = performance.now();
    const { timings } = await session.gpu.call("load", { data: image });
    loads.push(performance.now() - t);
    loadUploads.push(timings);
  }
  // cold: into new buffers, as for the first image or a larger one; warm: into the buffers the
  // last upload used
  const samples = Object.fromEntries(methods.map((m) =>
    [m, { cold: [], warm: [], cold_write: [], warm_write: [] }]));
  const checks = {};
  for (let i = -1; i < runs; i++) { // round -1 warms each method up
    for (const m of methods) {
      for (const kind of ["cold", "warm"]) {
        const r = await session.gpu.call("debug", { action: kind === "cold" ? "upload-cold" : "upload", argument: m });
        if (i >= 0) {
          samples[m][kind].push(r.uploadMs);
          samples[m][`${kind}_write`].push(r.writeMs);
        }
        checks[m] = { used: r.method, exact: (checks[m]?.exact ?? true) && r.exact };
      }
    }
    await log(`upload round ${i + 1} of ${runs}`);
  }
  return {
    mode: "upload",
    size,
    runs,
    bytes: size * size * 4,
    load_ms_median: median(loads),
    // the loads' own uploads, as the app times them: all of it, and until the writes are issued
    load_upload_ms: loadUploads.map((t) => t.uploadMs),
    load_upload_write_ms: loadUploads.map((t) => t.uploadWriteMs),
    methods: Object.fromEntries(methods.map((m) => [m, {
      cold_ms_median: median(samples[m].cold), warm_ms_median: median(samples[m].warm),
      cold_write_ms_median: median(samples[m].cold_write),
      warm_write_ms_median: median(samples[m].warm_write),
      cold_ms_min: Math.min(...samples[m].cold), warm_ms_min: Math.min(...samples[m].warm), ...checks[m] }])),
  };
}

/** Sustained Gaussian blurs (8 steps in one submit) against σ and image size, and 8 one-tap
 * copies at each size: the floor a pass of that size can reach. */
async function scale(session) {
  const sizes = (query.get("sizes") ?? "1024,2048,4096,8192").split(",").map(Number);
  const sigmas = (query.get("sigmas") ?? "1,3,8,16").split(",").map(Number);
  const runs = Number(query.get("runs") ?? 10);
  const variants = (query.get("entries") ?? "|separable=twopass").split("|");
  await session.gpu.call("debug", { action: "pipelines", argument: "specialised" });
  const cases = [["copy", JSON.stringify(STRESS_CHAINS.copy8)], ...sigmas.map((sigma) =>
    [sigma, JSON.stringify(repeat({ op: "gaussian_blur", params: { sigma } }))])];
  const rows = [];
  for (const size of sizes) {
    await log(`scale: making and loading a ${size}² RGBA image`);
    await session.gpu.call("load", { data: await testImage(size) });
    await warmUp(session, cases.map(([, chain]) => chain), variants, 1000);
    for (const [sigma, chain] of cases) {
      const measured = await interleaved(session, chain, variants, runs);
      for (const [variant, m] of Object.entries(measured)) {
        const steps = Object.entries(m.steps_ms_median).filter(([step]) => isStep(step));
        rows.push({ size, sigma, variant, first_step_ms: steps[0]?.[1] ?? null, later_steps_ms: m.later_steps_ms_median,
          gpu_ms: m.gpu_ms_median, kernels: [...new Set(Object.values(m.kernels))] });
      }
      await log(`scale: ${size}² σ=${sigma} done`);
    }
  }
  return { mode: "scale", runs, rows };
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
  // one variant (as debug('entries') takes it) for the whole grid, e.g. separable=twopass,pairs=fused
  await setVariant(session, query.get("entries") ?? "");
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
  return { mode: "grid", entries: query.get("entries") ?? "", cases: cases.length * sizes.length * 3,
    worst_max_abs_error: worst, worst_by_example: worstExample };
}

/** Draw the GPU worker's presented frame and compare it with the CPU reference's display. */
async function presentCheck(session) {
  const [w, h] = [61, 47];
  const pixels = Uint8Array.from({ length: w * h * 3 }, (_, i) => (Math.imul(i + 7, 2654435761) >>> 24));
  await session.loadImage(await encodePng(w, h, 3, pixels));
  const chain = JSON.stringify([{ op: "gaussian_blur", params: { sigma: 1.5 } }, { op: "unsharp_mask", params: {} }]);
  const gpu = await session.gpu.call("run", { chain, present: true });
  const reference = new OffscreenCanvas(w, h).getContext("2d");
  await session.verifier.run({ chain }, {
    onTile: ({ tile: [y0, y1, x0, x1], preview }) => reference.putImageData(new ImageData(preview, x1 - x0, y1 - y0), x0, y0),
  });
  const cpu = reference.getImageData(0, 0, w, h).data;
  const ctx = new OffscreenCanvas(w, h).getContext("2d");
  if (gpu.frame) ctx.drawImage(gpu.frame, 0, 0);
  else ctx.putImageData(new ImageData(gpu.display, w, h), 0, 0);
  const shown = ctx.getImageData(0, 0, w, h).data;
  let maxDiff = 0;
  for (let i = 0; i < shown.length; i++) maxDiff = Math.max(maxDiff, Math.abs(shown[i] - cpu[i]));
  return { mode: "present", shownBy: gpu.frame ? "webgpu-canvas" : "readback", maxDiff8bit: maxDiff };
}

/**
 * What a user waits for, measured through the app's own UI in a frame: page to ready; file
 * chosen to the first GPU frame on screen and to complete verification; the next files of the
 * same size to their frames, per upload method (&uploads=staging,write&rounds=3); then σ slider moves
 * (each to a new kernel radius) to the frame on screen, to the first verdict and to complete
 * verification. "On screen" is the GPU canvas's frame event plus the next animation frame.
 */
async function uiBench() {
  const size = Number(query.get("size") ?? 4096);
  const moves = Number(query.get("moves") ?? 8);
  const result = { mode: "ui", size };
  const t0 = performance.now();
  const frame = document.createElement("iframe");
  frame.style.cssText = "width:1600px;height:1000px;border:0";
  frame.src = "index.html";
  document.body.append(frame);
  while (!frame.contentWindow?.filterlab) await sleep(10);
  const w = frame.contentWindow;
  const d = frame.contentDocument;
  await w.filterlab.ready;
  result.ready_ms = performance.now() - t0;
  result.startup = await w.filterlab.debug("startup");
  result.gpu_info = w.filterlab.gpuInfo();
  const gpuCanvas = d.querySelector("[data-testid=canvas-gpu]");
  const metrics = d.querySelector("[data-testid=metrics]");
  let frameEvent = 0; // epoch ms of the last frame event
  const onScreen = () => new Promise((resolve) => gpuCanvas.addEventListener("frame", () => {
    frameEvent = performance.timeOrigin + performance.now();
    w.requestAnimationFrame(() => resolve(performance.now()));
  }, { once: true }));
  // resolves when the metrics show a verdict of one of `kinds` ("first" comes with "final" when
  // the first verdict's tiles are all the tiles there are)
  const verdict = (...kinds) => new Promise((resolve) => {
    const observer = new w.MutationObserver(() => {
      if (kinds.includes(metrics.dataset.verdict) && metrics.dataset.stale === "false") {
        observer.disconnect();
        resolve(performance.now());
      }
    });
    observer.observe(metrics, { attributes: true, attributeFilter: ["data-verdict", "data-stale"] });
  });
  await log(`making a ${size}² RGBA test image`);
  const png = await testImage(size);
  const input = d.querySelector("[data-testid=file-input]");
  const files = new w.DataTransfer();
  files.items.add(new w.File([png], "test.png", { type: "image/png" }));
  let t = performance.now();
  let shown = onScreen();
  let final = verdict("final");
  input.files = files.files;
  input.dispatchEvent(new w.Event("change", { bubbles: true }));
  result.file_to_frame_ms = (await shown) - t;
  result.file_to_verified_ms = (await final) - t;
  // Later files of the same size, as a user opening the next photos of a series: their
  // uploads reuse the buffers the first one made. Each upload method named in `uploads`
  // (engine.UPLOAD_METHODS) in turn, `rounds` times, interleaved.
  const methods = (query.get("uploads") ?? "staging,write").split(",");
  result.next_file_to_frame_ms = Object.fromEntries(methods.map((m) => [m, []]));
  for (let round = 0; round < Number(query.get("rounds") ?? 3); round++) {
    for (const method of methods) {
      await w.filterlab.debug("entries", `upload=${method}`);
      const next = new w.DataTransfer();
      next.items.add(new w.File([png], `test-${round}-${method}.png`, { type: "image/png" }));
      t = performance.now();
      shown = onScreen();
      final = verdict("final");
      input.files = next.files;
      input.dispatchEvent(new w.Event("change", { bubbles: true }));
      result.next_file_to_frame_ms[method].push((await shown) - t);
      await final;
    }
  }
  await w.filterlab.debug("entries", "");
  result.next_file_to_frame_median = Object.fromEntries(
    methods.map((m) => [m, median(result.next_file_to_frame_ms[m])]));
  await log(`loaded: ${JSON.stringify(result)}`);
  const select = d.querySelector("[data-testid=add-op]");
  select.value = "gaussian_blur";
  select.dispatchEvent(new w.Event("change", { bubbles: true }));
  t = performance.now();
  shown = onScreen();
  final = verdict("final");
  d.querySelector("[data-testid=add-step]").click();
  result.add_step_to_frame_ms = (await shown) - t;
  await log(`step added: frame after ${result.add_step_to_frame_ms.toFixed(1)} ms`);
  result.add_step_to_verified_ms = (await final) - t;
  await log(`step added: verified after ${result.add_step_to_verified_ms.toFixed(1)} ms`);
  const step = d.querySelectorAll("[data-testid^=step-][data-testid$=-enabled]").length - 1;
  const sigma = d.querySelector(`[data-testid=param-${step}-sigma]`);
  // How busy the page's main thread is: a message loop in its window notes every gap of
  // over 2 ms between its turns (the thread was doing something else), summed per move.
  const probe = { busy: 0, last: 0, running: true };
  const channel = new w.MessageChannel();
  channel.port1.onmessage = () => {
    const now = performance.now();
    if (probe.last && now - probe.last > 2) probe.busy += now - probe.last;
    probe.last = now;
    if (probe.running) setTimeout(() => channel.port2.postMessage(0), 1);
  };
  channel.port2.postMessage(0);
  const mainThread = () => {
    const busy = Math.round(probe.busy);
    probe.busy = 0;
    return { busy_ms: busy };
  };
  result.moves = [];
  for (let i = 0; i < moves; i++) {
    mainThread(); // from here on
    await w.filterlab.debug("costs");
    const value = (1.5 + 0.35 * (i + 1)).toFixed(2);
    t = performance.now();
    const input = performance.timeOrigin + t;
    shown = onScreen();
    const first = verdict("first", "final");
    final = verdict("final");
    sigma.value = value;
    sigma.dispatchEvent(new w.Event("input", { bubbles: true }));
    const frameMs = (await shown) - t;
    // where the time to the frame went: page to worker, the worker's run (its host steps
    // before the GPU starts), worker back to page, the frame drawn, the next animation frame
    const run = await w.filterlab.debug("last-run");
    const path = run && {
      to_sent: run.sent - input, to_worker: run.started - run.sent, in_worker: run.returned - run.started,
      host_ms: run.hostMs, back: run.received - run.returned, to_frame_event: frameEvent - run.received,
      to_animation_frame: input + frameMs - frameEvent,
    };
    const firstMs = (await first) - t;
    const finalMs = (await final) - t;
    const gpuMs = Number(d.querySelector("[data-testid=timing-GPU]")?.textContent.split(" ")[0]);
    const verification = await w.filterlab.debug("verification");
    const main_thread = { ...mainThread(), costs: await w.filterlab.debug("costs") };
    result.moves.push({ sigma: Number(value), radius: Math.floor(4 * value + 0.5), to_frame_ms: frameMs,
      to_first_verdict_ms: firstMs, to_verified_ms: finalMs, gpu_ms: gpuMs, path, main_thread, verification });
    await log(`move ${i}: ${JSON.stringify(result.moves[i])}`);
    await sleep(200);
  }
  const med = (key) => median(result.moves.map((m) => m[key]));
  result.median = { to_frame_ms: med("to_frame_ms"), to_first_verdict_ms: med("to_first_verdict_ms"),
    to_verified_ms: med("to_verified_ms"), gpu_ms: med("gpu_ms") };
  probe.running = false;
  result.pool = await w.filterlab.debug("pool");
  result.gpu_worker = await w.filterlab.debug("stats");
  return result;
}

/** The runtime alone (app/workers/bare.worker.js): when each of its phases began, in ms from the start. */
async function bareStart(overlap) {
  const t0 = performance.timeOrigin + performance.now();
  const worker = new Worker(new URL("./workers/bare.worker.js", import.meta.url), { type: "module" });
  const { at, error } = await new Promise((resolve) => {
    worker.onmessage = ({ data }) => resolve(data);
    worker.onerror = (e) => resolve({ error: e.message });
    worker.postMessage({ pyodideURL: new URL("pyodide/", document.baseURI).href, overlap });
  });
  worker.terminate();
  if (error) throw new Error(`bare runtime: ${error}`);
  return Object.fromEntries(Object.entries(at).map(([k, v]) => [k, Math.round(v - t0)]));
}

/**
 * Page to `filterlab.ready`, `loads` times, each in a fresh frame (its workers end with it), with
 * when each start-up phase began; interleaved with the runtime alone (Pyodide, NumPy and Pillow
 * loaded and imported, nothing of Filter Lab's). The first round is cold; later ones find the
 * browser's caches warm, as a returning user does.
 */
async function startupBench() {
  const loads = Number(query.get("loads") ?? 5);
  const result = { mode: "startup", loads: [], bare: [], bare_overlap: [] };
  for (let i = 0; i < loads; i++) {
    const t0 = performance.now();
    const frame = document.createElement("iframe");
    frame.style.cssText = "width:1200px;height:800px;border:0";
    frame.src = `index.html?load=${i}`;
    document.body.append(frame);
    while (!frame.contentWindow?.filterlab) {
      if (performance.now() - t0 > 60_000) throw new Error(`load ${i}: the app did not start in 60 s`);
      await sleep(5);
    }
    const w = frame.contentWindow;
    await w.filterlab.ready;
    const ready = performance.now() - t0;
    // phase times are ms since the frame's own time origin
    const phases = Object.fromEntries((await w.filterlab.debug("startup")).map((p) => [p.phase, p.at]));
    result.loads.push({ ready_ms: Math.round(ready), phases });
    if (!result.gpu_info) result.gpu_info = w.filterlab.gpuInfo();
    frame.remove();
    await sleep(300);
    result.bare.push(await bareStart(false));
    await sleep(300);
    result.bare_overlap.push(await bareStart(true));
    const alone = JSON.stringify(result.bare.at(-1));
    const during = JSON.stringify(result.bare_overlap.at(-1));
    await log(`round ${i}: app ready after ${Math.round(ready)} ms ${JSON.stringify(phases)}; ` +
      `runtime alone ${alone}, packages during start-up ${during}`);
    await sleep(300);
  }
  const warm = (list, key) => median(list.slice(1).map((x) => x[key]));
  result.median_warm = {
    app_ready_ms: warm(result.loads, "ready_ms"),
    bare_ready_ms: warm(result.bare, "ready"),
    bare_overlap_ready_ms: warm(result.bare_overlap, "ready"),
  };
  return result;
}

async function main() {
  try {
    const mode = query.get("mode");
    let result;
    let gpu;
    if (mode === "ui" || mode === "startup") {
      // the app in the frame starts its own workers
      result = await (mode === "ui" ? uiBench() : startupBench());
      gpu = result.gpu_info;
    } else {
      const session = new Session();
      await session.start();
      gpu = session.gpuInfo;
      await log(`adapter: ${JSON.stringify(gpu.adapter)}; present: ${gpu.present}`);
      if (!gpu.available) throw new Error(`no GPU: ${gpu.reason}`);
      const peers = async (s) => (await import("./peers/index.js")).peers(s, { log, testImage });
      const modes = { grid, present: presentCheck, peers, upload: uploads, scale };
      result = await (modes[mode] ?? bench)(session);
    }
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
