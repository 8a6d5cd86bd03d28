// Verification: the GPU's result checked against the NumPy reference, tile by tile, by the
// reference pool, on the page's schedule:
//   1. verify_start: the GPU worker runs the chain once more, keeping its outputs on the GPU,
//      and cuts the image into tiles, the first verdict's tiles first (edges, corners and a
//      sample spread over the image);
//   2. verify_read, a group at a time: the GPU's output for those tiles, read back per tile
//      (no worker holds a whole float image);
//   3. check_tile in the idlest reference worker holding the image (each decodes it once per
//      image, at native depth): the reference for the tile, from the source pixels it needs,
//      and its partial metrics; the GPU worker combines partial metrics into metrics.
// Tiles are read only as fast as the pool takes them. Aborting the signal stops everything
// within one tile's time: queued tiles never start.
import { isAbort } from "./bridge.js";

const PER_WORKER = 2; // tiles queued at a worker: one computing, one ready to start
const READS_IN_FLIGHT = 2; // tile reads from the GPU worker under way at once
// Tiles read back beyond what the workers hold, so the next ones are ready as workers free up;
// reads are batched (a read is one submit and one mapAsync in the GPU worker).
const READ_AHEAD = 2;
const PROGRESS_MS = 100; // how often partial metrics are combined while tiles arrive
const RETRIES = 2; // a tile whose worker died is read again, this many times at most

export class Verifier {
  /** @param {import("./bridge.js").WorkerClient} gpu  @param {import("./pool.js").ReferencePool} pool */
  constructor(gpu, pool) {
    this.gpu = gpu;
    this.pool = pool;
  }

  /**
   * Verify `chain` on the current image.
   *
   * `stages` is true, false or "auto" (worker_api.verify_start); `view`, `summary`,
   * `contrast` and `shown` choose what the page is shown (the stage in view, its histograms
   * and display stretch) and pass through to verify_start.
   *
   * Callbacks: `onStart(job)` with the tiles; `onSummary(summary)` with the histograms of the
   * output in view, when `summary` asked for them without `contrast` (the GPU worker computes
   * them once every tile is read, so no verdict before the final one waits for them);
   * `onTile({ tile, preview, error, gpuPreview })`
   * as each tile is verified; `onProgress({ done, fraction, first, metrics, stages })` in
   * order, the last one at fraction 1. `first` is true from the first verdict on (every
   * first-verdict tile done).
   *
   * Resolves with `{ metrics, stages, tiles, referenceMs, readMs, marks, wallMs, pixels? }`:
   * `marks` say when the stages were first reached (ms from the start), `metrics`
   * of the final output (null without a GPU), `stages` the metrics of every enabled step (when
   * they were compared), `referenceMs` the reference's compute time summed over tiles,
   * `readMs` the time spent reading tiles from the GPU worker (reads overlap, so this may
   * exceed the wall time), `pixels` the reference result (H×W×C float32) when asked.
   */
  async run({ chain, stages = false, tol, pixels = false, view = null, summary = false, contrast = false, shown = null },
    { signal, onStart, onSummary, onTile, onProgress } = {}) {
    const started = performance.now();
    // when each stage was first reached, in ms from the start: where a verdict's time goes
    const marks = {};
    const since = () => Math.round((performance.now() - started) * 10) / 10;
    const mark = (name) => {
      marks[name] ??= since();
    };
    // the GPU worker's calls, [what, start, end, tiles] in ms from the start (the first 64)
    const calls = [];
    const checks = []; // the first 64 tiles checked: [index, sent, answered, the worker's ms]
    const traced = (what, count, promise) => {
      const at = since();
      const record = calls.length < 64 ? [what, at, null, count] : null;
      if (record) calls.push(record);
      return promise.finally(() => {
        if (record) record[2] = since();
      });
    };
    await abortable(this.pool.ready, signal);
    const image = this.pool.image.id;
    const job = await this.gpu.call("verify_start",
      { chain, stages, workers: this.pool.image.workers, view, summary, contrast, shown },
      { signal, channel: "verify" });
    mark("started");
    await this.pool.imageReady(signal);
    mark("imageReady");
    onStart?.(job);
    const { tiles, width, height, channels } = job;
    const area = (t) => (t[1] - t[0]) * (t[3] - t[2]);
    const byFirstThenArea = (a, b) => {
      const [ta, tb] = [tiles[a.index], tiles[b.index]];
      return (tb[4] - ta[4]) || (ta[4] ? area(tb) - area(ta) : 0);
    };
    const totalArea = width * height;
    const firstCount = tiles.filter((t) => t[4]).length;
    const partials = Array.from({ length: job.gpu ? job.outputs : 0 }, () => []);
    const cpuPixels = pixels ? new Float32Array(totalArea * channels) : null;
    const retries = new Map();
    const redo = [];
    const backlog = [];
    let next = 0;
    let reading = 0; // tiles being read
    let reads = 0; // reads under way
    let readMs = 0;
    let done = 0;
    let doneArea = 0;
    let firstDone = 0;
    let referenceMs = 0;
    let lastProgress = 0;
    let combining = null;

    // While tiles come in, each combine folds the records that are new since the last one
    // into that one's folded record (per output), so it costs what the new tiles cost. The
    // final verdict combines every tile's own record, its sums rounded once.
    const folded = partials.map(() => ({ record: null, count: 0 }));
    const combineAll = (final) => Promise.all(partials.map(async (list, k) => {
      if (final) return traced("combine", list.length, this.gpu.call("combine", { partials: list, tol }, { signal }));
      const count = list.length;
      const records = [...(folded[k].record ? [folded[k].record] : []), ...list.slice(folded[k].count, count)];
      const { metrics, partial } = await traced("fold", records.length,
        this.gpu.call("combine", { partials: records, tol, fold: true }, { signal }));
      folded[k] = { record: partial, count };
      return metrics;
    }));

    return new Promise((resolve, reject) => {
      let settled = false;
      // The histograms asked for later, once every tile is read: computing them holds the GPU
      // worker for a while, and the reads go first. The final verdict waits for them.
      let summarised = null;
      const summarise = () => {
        summarised ??= job.summaryLater
          ? traced("summary", 0, this.gpu.call("verify_summary", { job: job.job }, { signal }))
            .then(({ summary }) => {
              if (!settled) onSummary?.(summary);
            }, (err) => {
              if (!isAbort(err)) fail(err);
            })
          : Promise.resolve();
        return summarised;
      };
      // A worker that starts (or replaces one that died) can take tiles at once.
      const onWorker = () => pump();
      this.pool.addEventListener("worker-ready", onWorker);
      const fail = (err) => {
        if (settled) return;
        settled = true;
        this.pool.removeEventListener("worker-ready", onWorker);
        reject(err);
      };
      signal?.addEventListener("abort", () => fail(new DOMException("superseded", "AbortError")), { once: true });

      const progress = async (force, final = false) => {
        if (!force && (combining || performance.now() - lastProgress < PROGRESS_MS)) return;
        while (combining) await combining; // one at a time: each folds on the one before
        lastProgress = performance.now();
        const first = firstDone === firstCount;
        const snapshot = { done, fraction: doneArea / totalArea, first };
        combining = partials.length ? combineAll(final) : Promise.resolve([]);
        const combined = await combining;
        combining = null;
        if (settled) return;
        snapshot.metrics = combined.length ? combined[combined.length - 1] : null;
        snapshot.stages = job.stages && combined.length ? combined : null;
        if (first) mark("firstVerdict");
        onProgress?.(snapshot);
        return snapshot;
      };

      const finished = async () => {
        try {
          await summarise();
          const last = await progress(true, true);
          if (settled) return;
          settled = true;
          this.pool.removeEventListener("worker-ready", onWorker);
          resolve({
            metrics: last.metrics, stages: last.stages, tiles: tiles.length, workers: this.pool.image.workers,
            referenceMs, readMs, marks: { ...marks, calls, checks },
            wallMs: performance.now() - started, pixels: cpuPixels,
          });
        } catch (err) {
          fail(err);
        }
      };

      const checked = (slot, record, result) => {
        slot.outstanding--;
        const tile = tiles[record.index];
        mark("firstChecked");
        done++;
        doneArea += area(tile);
        if (tile[4]) firstDone++;
        referenceMs += result.referenceMs;
        result.partials.forEach((p, k) => partials[k].push(p));
        if (cpuPixels) place(cpuPixels, result.pixels, tile, width, channels);
        if (done === tiles.length) {
          finished();
        } else {
          // The worker gets its next tile and the GPU worker the next reads before the page
          // draws this one; the first verdict's metrics go ahead of the reads.
          const firstNow = tile[4] && firstDone === firstCount;
          if (firstNow) progress(true).catch(fail);
          pump();
          if (!firstNow) progress(false).catch(fail);
        }
        onTile?.({ tile, preview: result.preview, error: result.error ?? null, gpuPreview: result.gpuPreview ?? null });
      };

      const lost = (slot, record, err) => {
        slot.outstanding--;
        if (settled) return;
        if (isAbort(err)) return;
        const count = (retries.get(record.index) ?? 0) + 1;
        if (err.name !== "WorkerCrashed" || count > RETRIES) {
          fail(err);
          return;
        }
        retries.set(record.index, count); // its pixels went with the worker: read it again
        redo.push(record.index);
        pump();
      };

      const dispatch = () => {
        while (backlog.length) {
          const slot = this.pool.idlest(PER_WORKER);
          if (!slot) return;
          const record = backlog.shift();
          slot.outstanding++;
          const sent = since();
          slot.client.call("check_tile", {
            chain, image, tile: tiles[record.index], gpu: record.gpu, tol, stages: job.stages, pixels,
            view: job.view, stretch: job.stretch ?? null,
          }, { signal, transfer: record.gpu.map((a) => a.buffer) })
            .then((result) => {
              if (checks.length < 64) checks.push([record.index, sent, since(), Math.round(result.ms ?? 0)]);
              checked(slot, record, result);
            }, (err) => lost(slot, record, err));
        }
      };

      const pump = () => {
        if (settled) return;
        dispatch();
        const workers = this.pool.readyCount;
        const held = this.pool.holders.reduce((n, s) => n + s.outstanding, 0);
        const batch = Math.max(1, Math.ceil(workers / 2));
        while (reads < READS_IN_FLIGHT && (next < tiles.length || redo.length)) {
          // The first verdict's tiles are read together, in one read, however many they are;
          // later reads take at most two batches, so tiles keep arriving while the pool works.
          const free = workers * (PER_WORKER + READ_AHEAD) - held - backlog.length - reading;
          const room = Math.max(Math.min(free, 2 * batch), firstCount - next);
          const left = tiles.length - next + redo.length;
          // read a whole batch at a time, unless the workers would otherwise wait
          if (room < Math.min(batch, left) && (held + backlog.length + reading > 0 || room <= 0)) return;
          const indices = redo.splice(0, room);
          while (indices.length < room && next < tiles.length) indices.push(next++);
          reads++;
          reading += indices.length;
          const started = performance.now();
          traced("read", indices.length, this.gpu.call("verify_read", { job: job.job, tiles: indices }, { signal }))
            .then(({ tiles: records, read }) => {
              if (read && calls.length < 64) calls.push(["gpu-read", read.mib, read.submitMs, read.mapMs, read.copyMs]);
              reads--;
              reading -= indices.length;
              readMs += performance.now() - started;
              mark("firstRead");
              backlog.push(...records);
              // The first verdict waits for its slowest tile: its largest tiles (the interior
              // sample) start first, then the edges' strips, the corners last.
              if (records.some((r) => tiles[r.index][4])) backlog.sort(byFirstThenArea);
              if (next === tiles.length && reads === 0) summarise();
              pump();
            }, fail);
        }
      };

      pump();
    });
  }
}

/** Copy a tile's H×W×C values into the whole image's array. */
function place(image, values, [y0, y1, x0, x1], width, channels) {
  const row = (x1 - x0) * channels;
  for (let y = y0; y < y1; y++) {
    image.set(values.subarray((y - y0) * row, (y - y0 + 1) * row), (y * width + x0) * channels);
  }
}

function abortable(promise, signal) {
  if (!signal) return promise;
  return Promise.race([promise, new Promise((_, reject) => {
    if (signal.aborted) reject(new DOMException("superseded", "AbortError"));
    signal.addEventListener("abort", () => reject(new DOMException("superseded", "AbortError")), { once: true });
  })]);
}
