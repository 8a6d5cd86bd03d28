// Image input: drag-and-drop on the zone, the file picker, and paste anywhere on the page.
// Hands the raw file bytes on; decoding happens in Python (Pillow) in the workers.

const MAX_FILE_BYTES = 256 * 1024 * 1024;

export function attachImageInput({ zone, input, onBytes, onError }) {
  const take = async (file) => {
    if (!file) return;
    try {
      await read(file);
    } catch (err) {
      onError(`${file.name || "file"}: ${err.message}`);
    }
  };
  const read = async (file) => {
    if (file.size > MAX_FILE_BYTES) {
      onError(`${file.name}: the file is ${(file.size / 2 ** 20).toFixed(0)} MiB; the limit is ${MAX_FILE_BYTES / 2 ** 20} MiB.`);
      return;
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    await onBytes(bytes, file.name || "pasted image");
  };

  input.addEventListener("change", () => {
    take(input.files?.[0]);
    input.value = ""; // choosing the same file again still loads it
  });
  // A file dropped anywhere on the page is taken; the browser never navigates away to it.
  // Other drags (text into an input) keep their usual behaviour.
  const carriesFiles = (e) => Array.from(e.dataTransfer?.types ?? []).includes("Files");
  window.addEventListener("dragover", (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    zone.classList.add("over");
  });
  window.addEventListener("dragleave", (e) => {
    if (e.relatedTarget === null) zone.classList.remove("over");
  });
  window.addEventListener("drop", (e) => {
    if (!carriesFiles(e)) return;
    e.preventDefault();
    zone.classList.remove("over");
    take(e.dataTransfer.files[0]);
  });
  zone.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") input.click();
  });
  window.addEventListener("paste", (e) => {
    const item = [...(e.clipboardData?.items ?? [])].find((i) => i.kind === "file");
    if (item) take(item.getAsFile());
  });
}
