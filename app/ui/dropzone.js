// Image input: drag-and-drop anywhere on the page, the file picker, paste, and the sample
// buttons (elements with data-sample="name", served as samples/name.png). Hands the raw file
// bytes on; decoding happens in Python (Pillow) in the GPU worker. Attached before the app has
// started, so nothing a user gives is lost and a drop never navigates away from the page.
import { imageBytes } from "../files.js";

export function attachImageInput({ zone, input, onBytes, onError }) {
  for (const button of document.querySelectorAll("[data-sample]")) {
    button.addEventListener("click", async () => {
      const name = `${button.dataset.sample}.png`;
      try {
        const response = await fetch(new URL(`samples/${name}`, document.baseURI));
        if (!response.ok) throw new Error(`the server answered ${response.status} ${response.statusText}`);
        await onBytes(new Uint8Array(await response.arrayBuffer()), name);
      } catch (err) {
        onError(`The sample ${name} could not be loaded: ${err.message}`);
      }
    });
  }
  const take = async (file) => {
    if (!file) return;
    const name = file.name || "pasted image";
    try {
      await onBytes(await imageBytes(file), name);
    } catch (err) {
      onError(`${name}: ${err.message}`);
    }
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
    if (e.target !== zone) return; // keys on the controls inside are theirs
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault(); // Space would scroll the page
      input.click();
    }
  });
  window.addEventListener("paste", (e) => {
    const item = [...(e.clipboardData?.items ?? [])].find((i) => i.kind === "file");
    if (item) take(item.getAsFile());
  });
}
