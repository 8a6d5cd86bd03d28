// Keyboard shortcuts: undo and redo of chain edits, and "?" for the help dialog that lists
// them. Keys typed into a text field are the field's own (its text has its own undo).

const TEXT_TYPES = new Set(["text", "number", "search", "url", "email", "password", "tel"]);

/** Whether `target` is somewhere the user types text. */
export function typing(target) {
  if (!(target instanceof Element)) return false;
  if (target.isContentEditable || target.tagName === "TEXTAREA") return true;
  return target.tagName === "INPUT" && TEXT_TYPES.has(target.type);
}

/** Wire the shortcuts; `undo()` and `redo()` act on the chain, `dialog` is the help dialog. */
export function attachShortcuts({ undo, redo, dialog, opener }) {
  opener.addEventListener("click", () => dialog.showModal());
  document.addEventListener("keydown", (e) => {
    if (e.defaultPrevented || e.altKey) return;
    const command = e.ctrlKey || e.metaKey;
    const key = e.key.toLowerCase();
    if (command && (key === "z" || (key === "y" && !e.shiftKey))) {
      if (typing(e.target)) return;
      e.preventDefault();
      if (key === "y" || e.shiftKey) redo();
      else undo();
    } else if (!command && e.key === "?" && !typing(e.target) && !dialog.open) {
      e.preventDefault();
      dialog.showModal();
    }
  });
}
