// Sharing and reuse of the chain: a link to it, its JSON (exactly the command line's --chain
// file) as a download, loading JSON from a file or pasted text, and a standalone Python script
// that reproduces it under CPython. The Python worker writes and checks all of these, so the
// page, the command line and the script agree on one format.
import { download } from "./dom.js";

const $ = (id) => document.getElementById(id);

/**
 * Wire the sharing controls. `onChain(chain)` receives a chain loaded from JSON; `say(text,
 * level)` puts a sentence on the status line.
 */
export function attachSharing({ session, onChain, say }) {
  const chainText = () => JSON.stringify(session.chain);

  $("copy-link").addEventListener("click", async () => {
    let link;
    try {
      const token = await session.gpuCall("to_url", { chain: chainText() });
      link = new URL(`#chain=${token}`, location.href).href;
    } catch (err) {
      say(`No link: ${err.message}`, "error");
      return;
    }
    try {
      await navigator.clipboard.writeText(link);
      say("Link copied: it opens this chain (not the image).");
    } catch {
      // No clipboard access (an insecure origin, or permission refused): show the link.
      const field = $("link-field");
      field.value = link;
      field.hidden = false;
      field.select();
      say("Copy the link from the field below the chain.", "warn");
    }
  });

  // A file the Python worker writes from the chain, offered as a download.
  const offer = (button, method, [name, type], done) => $(button).addEventListener("click", async () => {
    try {
      download(await session.gpuCall(method, { chain: chainText() }), name, type);
      say(done);
    } catch (err) {
      say(`${name} could not be made: ${err.message}`, "error");
    }
  });
  offer("chain-export", "chain_json", ["chain.json", "application/json"],
    "Chain saved as chain.json: python -m filterlab apply --chain chain.json IN OUT runs it.");
  offer("export-python", "python_script", ["chain.py", "text/x-python"],
    "Saved chain.py: python chain.py IN OUT reproduces this chain (NumPy, Pillow and scipy).");

  const dialog = $("import-dialog");
  const text = $("import-text");
  const error = $("import-error");
  const load = async () => {
    try {
      const chain = await session.gpuCall("read_chain", { text: text.value });
      error.textContent = "";
      dialog.close();
      onChain(chain);
      say(`Loaded a chain of ${chain.length} step${chain.length === 1 ? "" : "s"}.`);
    } catch (err) {
      error.textContent = err.message;
      text.focus();
    }
  };
  $("chain-import").addEventListener("click", () => {
    error.textContent = "";
    dialog.showModal();
    text.focus();
  });
  $("import-apply").addEventListener("click", (e) => {
    e.preventDefault();
    load();
  });
  $("import-file").addEventListener("change", async (e) => {
    const file = e.target.files?.[0];
    e.target.value = "";
    if (!file) return;
    text.value = await file.text();
    load();
  });
}
