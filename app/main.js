// Filter Lab starts in phases: workers (runtime, packages, filterlab, device), then the
// catalog, then the UI. The main thread never runs Python.
import { installApi } from "./api.js";
import { Session } from "./session.js";
import { ChainEditor } from "./ui/chain-editor.js";
import { attachImageInput } from "./ui/dropzone.js";
import { Views } from "./ui/views.js";

const $ = (id) => document.getElementById(id);
const status = $("status");

function setStatus(text, level = "") {
  status.textContent = text;
  status.className = `status ${level}`;
}

const PHASES = ["runtime", "packages", "filterlab", "device", "ready"];

function showPhases(session) {
  const list = $("phases");
  const seen = { gpu: new Set(), cpu: new Set() };
  for (const name of PHASES) {
    const li = document.createElement("li");
    li.textContent = name;
    li.dataset.phase = name;
    li.dataset.testid = `phase-${name}`;
    list.append(li);
  }
  session.addEventListener("phase", ({ detail }) => {
    seen[detail.worker].add(detail.phase);
    const li = list.querySelector(`[data-phase="${detail.phase}"]`);
    // A phase is done for the page once the GPU worker has passed it (the device phase is GPU-only).
    if (li && seen.gpu.has(detail.phase)) li.classList.add("done");
    if (detail.phase !== "ready") setStatus(`${detail.label}… (${detail.worker} worker, ${detail.ms} ms)`);
  });
}

// The chain lives in the page address (#chain=<token>), so a reload or a shared link keeps it.
async function restoreChainFromAddress(session, editor) {
  const token = new URLSearchParams(location.hash.slice(1)).get("chain");
  if (!token) return;
  try {
    editor.setChain(await session.cpu.call("from_url", { token }));
  } catch (err) {
    setStatus(`The chain in the address could not be read: ${err.message}`, "warn");
  }
}

async function saveChainToAddress(session) {
  try {
    const token = await session.cpu.call("to_url", { chain: JSON.stringify(session.chain) });
    history.replaceState(null, "", `#chain=${token}`);
  } catch {
    // an invalid chain (being edited) keeps the last valid address
  }
}

async function main() {
  const session = new Session();
  const api = installApi(session);
  showPhases(session);
  const views = new Views(session, {
    original: $("canvas-original"),
    gpu: $("canvas-gpu"),
    cpu: $("canvas-cpu"),
    heatmap: $("canvas-heatmap"),
    gpuNote: $("gpu-note"),
    timings: $("timings"),
    info: $("image-info"),
  });
  let runError = false; // the status shows a failed run, to clear once a run succeeds
  session.addEventListener("error", ({ detail }) => {
    runError = true;
    setStatus(detail.message, "error");
  });
  session.addEventListener("crashed", ({ detail }) => setStatus(detail.message, "error"));
  session.addEventListener("device", ({ detail }) => setStatus(detail.message, "warn"));

  try {
    await session.start();
  } catch (err) {
    setStatus(`Filter Lab could not start: ${err.message}`, "error");
    api.fail(err);
    return;
  }
  const gpu = session.gpuInfo;
  const adapterName = gpu.available
    ? [gpu.adapter.vendor, gpu.adapter.architecture].filter(Boolean).join(" ") || "unknown"
    : "";
  const presentNote = gpu.present === "readback"
    ? ` GPU results are shown by readback: ${gpu.presentNote || "this browser cannot present a WebGPU canvas"}.`
    : "";
  const readyText = gpu.available
    ? `Ready. GPU adapter: ${adapterName}.${presentNote}`
    : `Ready, CPU only. ${gpu.reason} The CPU reference still runs.`;
  views.setGpuAvailability(gpu);
  session.addEventListener("result", () => {
    if (runError) setStatus(readyText, gpu.available ? "" : "warn");
    runError = false;
  });
  setStatus(readyText, gpu.available ? "" : "warn");
  status.dataset.gpu = gpu.available ? "available" : "unavailable";

  const editor = new ChainEditor(session, $("chain"), $("add-op"), $("add-step"));
  await restoreChainFromAddress(session, editor);
  const refresh = () => {
    if (!session.image) return;
    session.process(session.chain).catch(() => {}); // errors reach the status line via "error"
  };
  let addressTimer = 0;
  editor.addEventListener("change", () => {
    refresh();
    clearTimeout(addressTimer);
    addressTimer = setTimeout(() => saveChainToAddress(session), 250);
  });

  const gain = $("heatmap-gain");
  const [lowest, highest] = session.defaults.gainRange;
  Object.assign(gain, { min: Math.log10(lowest), max: Math.log10(highest), value: Math.log10(session.defaults.gain) });
  $("gain-value").textContent = String(session.defaults.gain);
  gain.addEventListener("input", () => {
    const value = Math.round(10 ** Number(gain.value));
    $("gain-value").textContent = String(value);
    session.regain(value);
  });

  for (const bits of [8, 16]) {
    $(`export-${bits}`).addEventListener("click", async () => {
      try {
        const png = await session.exportPng(bits);
        const link = document.createElement("a");
        link.href = URL.createObjectURL(new Blob([png], { type: "image/png" }));
        link.download = `filterlab-${bits}bit.png`;
        link.click();
        setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
      } catch (err) {
        setStatus(`Export failed: ${err.message}`, "error");
      }
    });
  }

  attachImageInput({
    zone: $("drop-zone"),
    input: $("file-input"),
    onError: (message) => setStatus(message, "error"),
    onBytes: async (bytes, name) => {
      setStatus(`Decoding ${name}…`);
      try {
        await session.loadImage(bytes);
        setStatus(readyText, gpu.available ? "" : "warn");
        refresh();
      } catch (err) {
        setStatus(`${name}: ${err.message}`, "error");
        if (session.image) refresh(); // the previous image is back in both workers: redraw it
      }
    },
  });
  api.ready();
}

main();
