// What every peer shares: the Gaussian's weights, the test image as raw samples, and the
// comparison of an output with the reference output.

/** Blurs in one submit for the sustained GPU figure (the kernels at full clocks). */
export const STEPS_SUSTAINED = 8;

/** scipy.ndimage's radius rule: int(truncate * sigma + 0.5), truncate 4. */
export const gaussianRadius = (sigma) => Math.floor(4 * sigma + 0.5);

/** The normalised 1-D Gaussian of scipy.ndimage.gaussian_filter1d (float64). */
export function gaussianWeights(sigma) {
  const r = gaussianRadius(sigma);
  const w = Float64Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp((-0.5 / (sigma * sigma)) * (i - r) ** 2));
  const sum = w.reduce((a, b) => a + b, 0);
  return w.map((v) => v / sum);
}

/**
 * The samples of an encoded RGBA 8-bit PNG, decoded by the browser with no colour-space
 * conversion and no premultiplication: `{ width, height, u8, f32 }`, u8 RGBA row-major and
 * f32 = u8 / 255 (the app's working values).
 */
export async function decodeRgba8(png) {
  const bitmap = await createImageBitmap(new Blob([png], { type: "image/png" }),
    { colorSpaceConversion: "none", premultiplyAlpha: "none" });
  const { width, height } = bitmap;
  const ctx = new OffscreenCanvas(width, height).getContext("2d");
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const u8 = new Uint8Array(ctx.getImageData(0, 0, width, height, { colorSpace: "srgb" }).data.buffer);
  const f32 = new Float32Array(u8.length);
  for (let i = 0; i < u8.length; i++) f32[i] = u8[i] / 255;
  return { width, height, u8, f32 };
}

/**
 * Largest |output − reference| over a region of two H×W×4 images; `output` is float, or 8-bit
 * (then compared as value / 255). `border` pixels on each side are left out (0: all).
 * NaN anywhere in the region gives NaN.
 */
export function maxAbsDiff(output, reference, width, height, border = 0) {
  const scale = output instanceof Uint8Array || output instanceof Uint8ClampedArray ? 1 / 255 : 1;
  let worst = 0;
  for (let y = border; y < height - border; y++) {
    const end = (y * width + width - border) * 4;
    for (let i = (y * width + border) * 4; i < end; i++) {
      const d = Math.abs(output[i] * scale - reference[i]);
      if (!(d <= worst)) {
        if (Number.isNaN(d)) return NaN;
        worst = d;
      }
    }
  }
  return worst;
}

export const median = (xs) => {
  const s = xs.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};
