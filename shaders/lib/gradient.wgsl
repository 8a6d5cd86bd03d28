// Gradient operators (Sobel, Scharr, Prewitt), shared by edges.wgsl and the fused
// edges_convolve.wgsl. The x kernel is taps ⊗ (-1, 0, 1): smoothing down the columns, central
// difference along the row; the y kernel is its transpose. Both are correlations,
// unnormalised, as in scipy.ndimage.sobel. The caller declares `src` (lib/border.wgsl reads it).

const OUTPUT_MAGNITUDE: u32 = 0u;
const OUTPUT_X: u32 = 1u;
const OUTPUT_Y: u32 = 2u;

// gx, gy or hypot(gx, gy) at (x, y), from its 3×3 neighbourhood read through the border rule;
// `taps` are the operator's smoothing taps (s0, s1, s2, 0). Alpha is not meaningful.
fn gradient(x: i32, y: i32, w: i32, h: i32, mode: u32, cval: f32, taps: vec4<f32>, output: u32) -> vec4<f32> {
  let nw = border_load(x - 1, y - 1, w, h, mode, cval);
  let n = border_load(x, y - 1, w, h, mode, cval);
  let ne = border_load(x + 1, y - 1, w, h, mode, cval);
  let west = border_load(x - 1, y, w, h, mode, cval);
  let east = border_load(x + 1, y, w, h, mode, cval);
  let sw = border_load(x - 1, y + 1, w, h, mode, cval);
  let so = border_load(x, y + 1, w, h, mode, cval);
  let se = border_load(x + 1, y + 1, w, h, mode, cval);
  let gx = taps.x * (ne - nw) + taps.y * (east - west) + taps.z * (se - sw);
  let gy = taps.x * (sw - nw) + taps.y * (so - n) + taps.z * (se - ne);
  switch output {
    case OUTPUT_X: { return gx; }
    case OUTPUT_Y: { return gy; }
    default: { return sqrt(gx * gx + gy * gy); }  // OUTPUT_MAGNITUDE
  }
}
