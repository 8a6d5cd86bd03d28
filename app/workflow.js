// The editing workflow around the chain editor: undo and redo, what survives a reload (the
// last image and chain, in IndexedDB), sharing (share.js), the keyboard
// shortcuts and their help (help.js), the controls that need an image, and the canvases' text
// alternatives (describe.js).
import { History } from "./history.js";
import { Store } from "./store.js";
import { describeCanvases } from "./ui/describe.js";
import { attachShortcuts } from "./ui/help.js";
import { attachSharing } from "./ui/share.js";

const $ = (id) => document.getElementById(id);
const SAVE_MS = 300; // chain edits are saved once they pause

/**
 * Install the workflow once the editor exists. `refresh()` runs the current chain; `say(text,
 * level)` writes the status line; `takeImage(bytes, name)` opens an image as the file input
 * does; `fromAddress` says whether the page address gave the chain (it wins over the saved one).
 * Returns `restoreImage()`, to call once the app takes images: it reopens the saved image.
 */
export async function installWorkflow({ session, editor, say, takeImage, fromAddress, formatNumber }) {
  const store = new Store();
  const saved = await store.load();
  if (!fromAddress && saved.chain?.length) {
    try {
      editor.setChain(await session.gpuCall("read_chain", { text: JSON.stringify(saved.chain) }));
      editor.edited(false); // into the address too
    } catch {
      // a saved chain this version cannot read: keep the default
    }
  }

  const history = new History();
  history.reset(session.chain);
  const buttons = { undo: $("undo"), redo: $("redo") };
  const showState = () => {
    buttons.undo.disabled = !history.canUndo;
    buttons.redo.disabled = !history.canRedo;
  };
  history.addEventListener("change", showState);
  showState();

  let saveTimer = 0;
  editor.addEventListener("commit", () => {
    history.record(session.chain);
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => store.saveChain(session.chain), SAVE_MS);
  });
  editor.addEventListener("announce", ({ detail }) => say(detail.message));
  const travel = (chain, what) => {
    if (!chain) return;
    editor.setChain(chain);
    editor.edited(false);
    say(`${what}: the chain has ${chain.length} step${chain.length === 1 ? "" : "s"}.`);
  };
  const undo = () => travel(history.undo(), "Undone");
  const redo = () => travel(history.redo(), "Redone");
  buttons.undo.addEventListener("click", undo);
  buttons.redo.addEventListener("click", redo);
  attachShortcuts({ undo, redo, dialog: $("help"), opener: $("help-button") });

  attachSharing({
    session,
    say,
    onChain: (chain) => {
      editor.setChain(chain);
      editor.edited(false);
    },
  });

  // Controls that need an image wait for one; the page says what to do until then.
  const needImage = [$("export-8"), $("export-16")];
  const showImageState = () => {
    const loaded = Boolean(session.image);
    for (const button of needImage) {
      button.disabled = !loaded;
      button.title = loaded ? "" : "Open an image first.";
    }
    document.body.dataset.image = loaded ? "loaded" : "none";
  };
  showImageState();
  session.addEventListener("image", () => {
    showImageState();
    store.saveImage(session.image.bytes, session.image.name).then(() => {
      if (store.failed) say(`The image is shown but not kept for the next visit: ${store.failed.message}`, "warn");
    });
  });
  describeCanvases(session, formatNumber);

  $("clear-saved").addEventListener("click", async () => {
    clearTimeout(saveTimer);
    await store.clear();
    say(store.failed ? `Nothing was cleared: ${store.failed.message}`
      : "Forgot the saved image and chain: the next visit starts afresh (a link still carries its chain).");
  });

  return {
    /** Reopen the image of the last visit, unless one was given meanwhile. */
    async restoreImage() {
      if (!saved.image || session.image) return;
      await takeImage(saved.image.bytes, saved.image.name);
      if (session.image) say(`Reopened ${saved.image.name} from your last visit.`);
    },
  };
}
