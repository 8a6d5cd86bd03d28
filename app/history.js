// Undo and redo for chain edits. The history holds snapshots (a chain's JSON text): each
// finished edit is recorded once, and undoing or redoing hands back the exact chain of that
// moment, kernels included.

export class History extends EventTarget {
  constructor(limit = 200) {
    super();
    this.limit = limit;
    this.past = [];
    this.future = [];
    this.current = null;
  }

  /** Start over from `chain`: nothing to undo or redo. */
  reset(chain) {
    this.past = [];
    this.future = [];
    this.current = JSON.stringify(chain);
    this.changed();
  }

  /** Record `chain` as the latest state; a chain equal to the current one is not a new state. */
  record(chain) {
    const text = JSON.stringify(chain);
    if (text === this.current) return;
    if (this.current !== null) this.past.push(this.current);
    if (this.past.length > this.limit) this.past.shift();
    this.current = text;
    this.future = [];
    this.changed();
  }

  get canUndo() {
    return this.past.length > 0;
  }

  get canRedo() {
    return this.future.length > 0;
  }

  /** The chain before the current one (and make it current), or null. */
  undo() {
    if (!this.canUndo) return null;
    this.future.push(this.current);
    this.current = this.past.pop();
    this.changed();
    return JSON.parse(this.current);
  }

  /** The chain an undo left (and make it current), or null. */
  redo() {
    if (!this.canRedo) return null;
    this.past.push(this.current);
    this.current = this.future.pop();
    this.changed();
    return JSON.parse(this.current);
  }

  changed() {
    this.dispatchEvent(new Event("change"));
  }
}
