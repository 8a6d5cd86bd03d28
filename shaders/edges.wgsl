struct Params {
  width: u32,
  height: u32,
  mode: u32,       // border mode, see lib/border.wgsl
  cval: f32,       // value outside a constant border
  output: u32,     // OUTPUT_MAGNITUDE: hypot(gx, gy), OUTPUT_X: gx, OUTPUT_Y: gy
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
  taps: vec4<f32>,  // the operator's smoothing taps (s0, s1, s2, 0): Sobel 1 2 1, Scharr 3 10 3, Prewitt 1 1 1
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

override WG_X: u32;
override WG_Y: u32;

// Gradient operators (Sobel, Scharr, Prewitt) in one fused pass: gx, gy or hypot(gx, gy) as
// lib/gradient.wgsl computes them, without an intermediate buffer.
// Tiling: none; each invocation reads its 3×3 neighbourhood (8 loads) straight from global
// memory, which neighbouring invocations share through the cache.
// Borders: border_load, with cval outside a constant border (full 2-D semantics).
// Alpha: written back from the source pixel (keep_alpha).
// Dispatch: (ceil(width / WG_X), ceil(height / WG_Y)) workgroups.

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let w = i32(params.width);
  let h = i32(params.height);
  let x = i32(gid.x);
  let y = i32(gid.y);
  if (x >= w || y >= h) {
    return;
  }
  let g = gradient(x, y, w, h, params.mode, params.cval, params.taps, params.output);
  dst[y * w + x] = keep_alpha(g, src[src_index(x, y, w)]);
}
