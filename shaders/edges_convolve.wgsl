struct Params {
  width: u32,
  height: u32,
  mode: u32,        // the correlation's border mode, see lib/border.wgsl
  cval: f32,        // and its value outside a constant border
  radius: u32,      // the correlation kernel's radius; read only by a GENERAL pipeline
  edge_mode: u32,   // the gradient's border mode
  edge_cval: f32,   // and its value outside a constant border
  output: u32,      // the gradient's output: OUTPUT_MAGNITUDE, OUTPUT_X or OUTPUT_Y
  edge_taps: vec4<f32>,  // the gradient operator's smoothing taps (s0, s1, s2, 0), as in edges.wgsl
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> weights: array<vec4<f32>, MAX_TAPS>;  // K × K, row-major (lib/taps.wgsl)

override WG_X: u32;     // invocations per workgroup
override TILE_W: u32;   // the output tile: TILE_W × TILE_H = BLOCK × WG_X (lib/tile.wgsl)
override TILE_H: u32;
override RADIUS: u32;   // the correlation kernel's radius: a constant, so loops unroll
// A GENERAL pipeline serves every radius up to RADIUS, read from params.radius: it stands in
// while the pipeline specialised for a new radius compiles in the background.
override GENERAL: bool = false;

// Two steps of a chain in one dispatch: a gradient (edges.wgsl: Sobel, Scharr or Prewitt;
// gx, gy or the magnitude) followed by a K×K correlation (convolve.wgsl), K = 2r + 1. The
// gradient image is never written: each workgroup computes it on its output tile plus an
// r-pixel halo, which neighbouring tiles compute again, and keeps it in workgroup memory.
// That saves a full-size write and read of the intermediate image, for (TILE_W + 2r)
// (TILE_H + 2r) / (TILE_W TILE_H) gradients a pixel instead of one.
// Tiling: lib/window.wgsl stages the gradient window in `sums`, correlates it with register
// blocking (BLOCK outputs an invocation) and writes the outputs by whole rows.
// Borders: exactly those of the two steps run one after the other. A window pixel outside the
// image follows the correlation's rule (the gradient at the pixel border_index gives, or cval
// outside a constant border); the gradient at an image pixel reads its neighbours by the
// gradient's own rule. Not for banded images, which would need both rules in the halo rows.
// Alpha: written back from the source pixel (both steps carry it).
// Dispatch: (ceil(width / TILE_W), ceil(height / TILE_H)) workgroups.

var<workgroup> sums: array<vec4<f32>, (TILE_H + 2u * RADIUS) * (TILE_W + 2u * RADIUS + 1u)>;

fn radius() -> u32 {
  if (GENERAL) {
    return params.radius;
  }
  return RADIUS;
}

// The window pixel at (x, y) (lib/window.wgsl): the gradient where the correlation's border
// rule reads it, or cval outside a constant border.
fn window_pixel(x: i32, y: i32, w: i32, h: i32) -> vec4<f32> {
  let bx = border_index(x, w, params.mode);
  let by = border_index(y, h, params.mode);
  if (bx < 0 || by < 0) {
    return vec4<f32>(params.cval);
  }
  return gradient(bx, by, w, h, params.edge_mode, params.edge_cval, params.edge_taps, params.output);
}

@compute @workgroup_size(WG_X)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  correlate_window(wg, lid, radius(), radius());
}
