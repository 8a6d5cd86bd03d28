// What survives a reload: the last image (its file's bytes and name) and the chain, kept in
// this browser's IndexedDB. Nothing leaves the browser. Every call resolves, also where
// storage is unavailable (a private window may refuse it): saving then does nothing, and
// loading finds nothing.

const DB = "filterlab";
const STORE = "saved";
const VERSION = 1;

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export class Store {
  constructor() {
    this.db = null;
    this.failed = null; // the first error, for one notice
  }

  async open() {
    if (this.db) return this.db;
    if (!("indexedDB" in self)) throw new Error("this browser has no IndexedDB");
    const req = indexedDB.open(DB, VERSION);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    this.db = await request(req);
    return this.db;
  }

  async transact(mode, work) {
    try {
      const db = await this.open();
      const tx = db.transaction(STORE, mode);
      const done = new Promise((resolve, reject) => {
        tx.oncomplete = resolve;
        tx.onerror = () => reject(tx.error);
        tx.onabort = () => reject(tx.error ?? new Error("the transaction was aborted"));
      });
      const [result] = await Promise.all([work(tx.objectStore(STORE)), done]);
      return result;
    } catch (err) {
      this.failed ??= err;
      return undefined;
    }
  }

  /** Keep an image file's bytes (a Uint8Array or ArrayBuffer) and its name. */
  saveImage(bytes, name) {
    const data = bytes instanceof ArrayBuffer ? bytes.slice(0) : bytes.slice().buffer;
    return this.transact("readwrite", (store) => request(store.put({ data, name, saved: Date.now() }, "image")));
  }

  /** Keep the chain (a list of steps). */
  saveChain(chain) {
    return this.transact("readwrite", (store) => request(store.put(JSON.stringify(chain), "chain")));
  }

  /**
   * `{ image: { bytes, name } | null, chain: [...] | null }` as last saved; nothing when
   * storage takes longer than `waitMs` to answer (start-up does not wait on it for long).
   */
  async load(waitMs = 3000) {
    const found = await Promise.race([
      this.transact("readonly", async (store) => {
        const [image, chain] = await Promise.all([request(store.get("image")), request(store.get("chain"))]);
        return { image, chain };
      }),
      new Promise((resolve) => setTimeout(resolve, waitMs, undefined)),
    ]);
    let chain = null;
    try {
      chain = found?.chain ? JSON.parse(found.chain) : null;
    } catch {
      chain = null;
    }
    const image = found?.image?.data ? { bytes: new Uint8Array(found.image.data), name: found.image.name } : null;
    return { image, chain };
  }

  /** Forget the saved image and chain. */
  clear() {
    return this.transact("readwrite", (store) => request(store.clear()));
  }
}
