// Filter Lab starts in phases: image input first (so nothing a user gives is lost), then the
// GPU worker (the runtime with NumPy and Pillow, filterlab, device), the catalog and the UI;
// the reference pool starts after that. The main thread never runs Python.
import { installApi } from "./api.js";
import { Session } from "./session.js";
import { ChainEditor } from "./ui/chain-editor.js";
import { attachImageInput } from "./ui/dropzone.js";
import { formatNumber, Views } from "./ui/views.js";
import { installWorkflow } from "./workflow.js";

const $ = (id) => document.getElementById(id);
const status = $("status");
// Verification waits for the input to pause this long, so a slider drag stays on the GPU path.
const IDLE_MS = 100;

function setStatus(text, level = "") {
  status.textContent = text;
  status.className = `status ${level}`;
  status.dataset.level = level || "info";
}

// Things that happened to the app (a lost GPU, a restarted worker) stay in view until
// dismissed; the status line moves on with the work.
function notify(text, level = "warn") {
  $("notice-text").textContent = text;
  $("notice").className = `notice ${level}`;
  $("notice").hidden = false;
}
$("notice-close").addEventListener("click", () => {
  $("notice").hidden = true;
});

// Input handlers exist from the first paint: a file chosen, dropped or pasted during start-up
// waits here (the latest one wins) and is processed once the app is ready.
let takeImage = null;
let waitingImage = null;
attachImageInput({
  zone: $("drop-zone"),
  input: $("file-input"),
  onError: (message) => setStatus(message, "error"),
  onBytes: (bytes, name) => {
    if (takeImage) return takeImage(bytes, name);
    waitingImage = { bytes, name };
    setStatus(`${name} will open as soon as Filter Lab has started…`);
    return undefined;
  },
});

const PHASES = ["runtime", "filterlab", "device", "ready"];

function showPhases(session) {
  const list = $("phases");
  for (const name of PHASES) {
    const li = document.createElement("li");
    li.textContent = name;
    li.dataset.phase = name;
    li.dataset.testid = `phase-${name}`;
    list.append(li);
  }
  let current = null;
  session.addEventListener("phase", ({ detail }) => {
    // A phase is done when the next one starts; "device" only once an adapter is found (main).
    if (current && current !== "device") list.querySelector(`[data-phase="${current}"]`)?.classList.add("done");
    current = detail.phase;
    if (detail.phase === "ready") list.querySelector('[data-phase="ready"]').classList.add("done");
    else setStatus(`${detail.label}…`);
  });
}

// The chain lives in the page address (#chain=<token>), so a reload, a shared link, and Back
// and Forward between chains keep it.
async function chainFromAddress(session) {
  const token = new URLSearchParams(location.hash.slice(1)).get("chain");
  if (!token) return null;
  try {
    return await session.gpuCall("from_url", { token });
  } catch (err) {
    setStatus(`The chain in the address could not be read: ${err.message}`, "warn");
    return null;
  }
}

let addressToken = null;
async function saveChainToAddress(session, replace = false) {
  try {
    const token = await session.gpuCall("to_url", { chain: JSON.stringify(session.chain) });
    if (token === addressToken) return;
    addressToken = token;
    // The first chain replaces the address, so Back from the first edit returns to it.
    history[replace ? "replaceState" : "pushState"](null, "", `#chain=${token}`);
  } catch {
    // an invalid chain (being edited) keeps the last valid address
  }
}

function describeMetrics(m) {
  return `max |Δ| ${formatNumber(m.maxAbsError)}`;
}

let refresh = () => {}; // run and verify the current chain; set once the editor exists

async function main() {
  const session = new Session();
  const api = installApi(session);
  showPhases(session);
  const views = new Views(session, { refresh: () => refresh() });
  session.addEventListener("error", ({ detail }) => setStatus(detail.message, "error"));
  session.addEventListener("device", ({ detail }) => notify(detail.message));
  session.addEventListener("notice", ({ detail }) => notify(detail.message, detail.level ?? "warn"));
  session.addEventListener("decoding", () => setStatus("Decoding…"));
  session.addEventListener("running", () => setStatus("Running on the GPU…"));
  session.addEventListener("gpu-result", () => setStatus("GPU result shown; checking it against the CPU reference when you pause."));
  session.addEventListener("verify-start", () => setStatus("Verifying on the CPU… 0 %"));
  session.addEventListener("verify-progress", ({ detail }) => {
    if (detail.fraction >= 1) return;
    const verdict = detail.first && detail.metrics ? ` (edges, corners and a sample: ${describeMetrics(detail.metrics)})` : "";
    setStatus(`Verifying on the CPU… ${Math.round(detail.fraction * 100)} %${verdict}`);
  });
  session.addEventListener("verified", ({ detail }) => {
    setStatus(detail.metrics
      ? `Verified: ${describeMetrics(detail.metrics)} between GPU and CPU over the whole image.`
      : "CPU reference shown (no GPU result to compare).", detail.metrics ? "" : "warn");
  });

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
  $("gpu-summary").textContent = gpu.available ? `GPU: ${adapterName}` : "No GPU";
  $("gpu-adapter").textContent = gpu.available
    ? `GPU adapter: ${adapterName}${gpu.adapter.description ? ` (${gpu.adapter.description})` : ""}.${presentNote}`
    : gpu.reason;
  const device = $("phases").querySelector('[data-phase="device"]');
  device.classList.add(gpu.available ? "done" : "failed");
  device.title = gpu.available ? adapterName : "no WebGPU adapter";
  const readyText = gpu.available
    ? "Ready. Open, drop or paste an image."
    : "Ready, without a GPU: this browser has no WebGPU, so only the CPU reference runs.";
  views.start(gpu);
  setStatus(readyText, gpu.available ? "" : "warn");
  status.dataset.gpu = gpu.available ? "available" : "unavailable";

  const editor = new ChainEditor(session, $("chain"), $("add-op"), $("add-step"),
    { decorateStep: views.decorateStep });
  const fromAddress = await chainFromAddress(session);
  if (fromAddress) editor.setChain(fromAddress);
  refresh = () => {
    if (!session.image) return;
    session.process(session.chain, { idle: IDLE_MS, ...views.processOptions() })
      .catch(() => {}); // errors reach the status line
  };
  let addressTimer = 0;
  editor.addEventListener("change", () => {
    refresh();
    clearTimeout(addressTimer);
    addressTimer = setTimeout(() => saveChainToAddress(session), 250);
  });
  const workflow = await installWorkflow({
    session, editor, formatNumber, fromAddress: Boolean(fromAddress),
    say: setStatus, takeImage: (bytes, name) => takeImage(bytes, name),
  });
  await saveChainToAddress(session, true);
  window.addEventListener("hashchange", async () => {
    const chain = await chainFromAddress(session);
    if (!chain || JSON.stringify(chain) === JSON.stringify(session.chain)) return;
    editor.setChain(chain);
    refresh();
  });
  session.addEventListener("recovered", refresh);

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

  takeImage = async (bytes, name) => {
    setStatus(`Decoding ${name}…`);
    try {
      await session.loadImage(bytes, name);
      refresh();
    } catch (err) {
      setStatus(`${name}: ${err.message}`, "error");
    }
  };
  session.phaseTimes.push({ phase: "page-ready", at: Math.round(performance.now()) });
  api.ready();
  if (waitingImage) {
    const { bytes, name } = waitingImage;
    waitingImage = null;
    takeImage(bytes, name);
  } else {
    workflow.restoreImage();
  }
}

main();
