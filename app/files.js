// Image bytes from what users and scripts hand over: a File or Blob (picker, drop, paste), an
// ArrayBuffer or a Uint8Array (window.filterlab.run). The size is checked before anything is
// read, so a huge file costs nothing.

export const MAX_FILE_BYTES = 256 * 1024 * 1024;

const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** The bytes of `source` as a Uint8Array; rejects with a plain message for anything else. */
export async function imageBytes(source) {
  let size;
  if (source instanceof Blob) size = source.size;
  else if (source instanceof ArrayBuffer) size = source.byteLength;
  else if (source instanceof Uint8Array) size = source.byteLength;
  else {
    throw new TypeError("The image must be a File, Blob, ArrayBuffer or Uint8Array holding an encoded image file.");
  }
  if (size > MAX_FILE_BYTES) {
    throw new RangeError(`The file is ${mib(size)}; the limit is ${mib(MAX_FILE_BYTES)}.`);
  }
  if (source instanceof Blob) return new Uint8Array(await source.arrayBuffer());
  return source instanceof Uint8Array ? source : new Uint8Array(source);
}
