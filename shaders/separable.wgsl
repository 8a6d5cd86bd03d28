struct Params {
  width: u32,
  height: u32,
  mode: u32,       // border mode, see lib/border.wgsl
  cval: f32,       // value outside a constant border
  channels: u32,   // along_x_packed only: the uploaded image's channels and sample format,
  format: u32,     // as in lib/packed.wgsl
  radius: u32,     // the kernel's radius; read only by a GENERAL pipeline
  _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> weights: array<vec4<f32>, MAX_TAPS>;  // lib/taps.wgsl
@group(0) @binding(4) var<storage, read> packed: array<u32>;

override WG_X: u32;
override WG_Y: u32;    // along_y only
override TILE_W: u32;  // along_x_blocked only: its output tile, TILE_W × TILE_H = BLOCK × WG_X
override TILE_H: u32;  // (lib/tile.wgsl)
// The kernel's radius: a constant, so loops unroll. along_y_rows's loop runs to a bound written
// in RADIUS itself, with the radius of a GENERAL pipeline as an early exit: a bound computed
// from radius(), although the same constant, can keep the NVIDIA driver from unrolling a loop
// that keeps running sums (on an H100 that pass took 1.05× as long, a fused blur 3.8×). The
// row passes, whose loops keep one sum, measured faster with the computed bound and keep it.
override RADIUS: u32;
// A GENERAL pipeline serves every radius up to RADIUS, read from params.radius: it stands in
// while the pipeline specialised for a new radius compiles in the background.
override GENERAL: bool = false;

fn radius() -> u32 {
  if (GENERAL) {
    return params.radius;
  }
  return RADIUS;
}

// One 1-D correlation pass of a separable filter (Gaussian, box, any rank-1 kernel):
// dst(p) = sum_t w(t) src(p + (t - r) e_axis), for t in 0..2r.
// Entry points; the host picks one and dispatches it:
//   along_x         WG_X × 1 invocations stage their row segment plus an r-wide halo on each
//                   side in workgroup memory, so each input pixel is read from global memory
//                   about once. Dispatch (ceil(width / WG_X), height).
//   along_y         WG_X × WG_Y invocations stage a (WG_Y + 2r)-row, WG_X-column tile the same
//                   way, for radii whose tile fits workgroup memory.
//                   Dispatch (ceil(width / WG_X), ceil(height / WG_Y)).
//   along_y_direct  for larger radii: WG_X × 1 invocations read straight from global memory;
//                   neighbours read neighbouring addresses of the same rows, so reads coalesce.
//                   Dispatch (ceil(width / WG_X), height).
//   along_y_rows    along_y_direct with register blocking (lib/block.wgsl): each invocation
//                   makes BLOCK consecutive outputs of its column from the BLOCK + 2r source
//                   rows they read, each read once, so a source pixel is read (BLOCK + 2r) /
//                   BLOCK times instead of 2r + 1; no workgroup tile, so any radius fits.
//                   Dispatch (ceil(width / WG_X), ceil(height / BLOCK)).
//   along_x_direct  the same for rows, leaving reuse to the cache; for comparison with
//                   along_x on a given GPU (the benchmark page can select it).
//   along_x_blocked along_x with register blocking, for large radii: TILE_H rows of TILE_W +
//                   2r pixels staged (lib/window.wgsl), each invocation summing BLOCK
//                   consecutive outputs of a row from BLOCK + 2r reads of workgroup memory
//                   instead of 2r + 1 each. Dispatch (ceil(width / TILE_W), ceil(height / TILE_H)).
//   along_x_packed  along_x reading the uploaded 8-bit, 16-bit or float image (`packed`)
//                   instead of a working buffer: the first pass of a chain unpacks as it
//                   stages, which saves the unpack pass and its full-size write and read.
// The weights are read through tap() (lib/taps.wgsl).
// Borders: coordinates go through border_index; a constant border reads cval. The host makes
// two passes equal the full 2-D kernel by giving the second pass cval times the sum of the
// first pass's weights (filterlab.reference documents the rule).
// Alpha: written back from the source pixel (keep_alpha).

var<workgroup> row: array<vec4<f32>, WG_X + 2u * RADIUS>;
var<workgroup> tile: array<vec4<f32>, (WG_Y + 2u * RADIUS) * WG_X>;
var<workgroup> sums: array<vec4<f32>, TILE_H * (TILE_W + 2u * RADIUS + 1u)>;

fn store(x: i32, y: i32, w: i32, h: i32, acc: vec4<f32>) {
  if (x < w && y < h) {
    dst[y * w + x] = keep_alpha(acc, src[src_index(x, y, w)]);
  }
}

@compute @workgroup_size(WG_X)
fn along_x(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = i32(params.width);
  let h = i32(params.height);
  let r = i32(radius());
  let y = i32(wg.y);
  let left = i32(wg.x * WG_X) - r;
  for (var s = lid.x; s < WG_X + 2u * u32(r); s += WG_X) {
    row[s] = border_load(left + i32(s), y, w, h, params.mode, params.cval);
  }
  workgroupBarrier();
  var acc = vec4<f32>(0.0);
  for (var t = 0u; t <= 2u * u32(r); t++) {
    acc += tap(t) * row[lid.x + t];
  }
  store(i32(wg.x * WG_X + lid.x), y, w, h, acc);
}

@compute @workgroup_size(WG_X)
fn along_x_packed(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = i32(params.width);
  let h = i32(params.height);
  let r = i32(radius());
  let y = i32(wg.y);
  let x = i32(wg.x * WG_X + lid.x);
  let left = i32(wg.x * WG_X) - r;
  let row_start = u32(y * w);
  for (var s = lid.x; s < WG_X + 2u * u32(r); s += WG_X) {
    let bx = border_index(left + i32(s), w, params.mode);
    var value = vec4<f32>(params.cval);
    if (bx >= 0) {
      value = packed_pixel(row_start + u32(bx), params.channels, params.format);
    }
    row[s] = value;
  }
  workgroupBarrier();
  var acc = vec4<f32>(0.0);
  for (var t = 0u; t <= 2u * u32(r); t++) {
    acc += tap(t) * row[lid.x + t];
  }
  if (x < w && y < h) {
    dst[y * w + x] = keep_alpha(acc, row[lid.x + u32(r)]);
  }
}

@compute @workgroup_size(WG_X, WG_Y)
fn along_y(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = i32(params.width);
  let h = i32(params.height);
  let r = i32(radius());
  let x = i32(wg.x * WG_X + lid.x);
  let top = i32(wg.y * WG_Y) - r;
  for (var s = lid.y; s < WG_Y + 2u * u32(r); s += WG_Y) {
    tile[s * WG_X + lid.x] = border_load(x, top + i32(s), w, h, params.mode, params.cval);
  }
  workgroupBarrier();
  var acc = vec4<f32>(0.0);
  for (var t = 0u; t <= 2u * u32(r); t++) {
    acc += tap(t) * tile[(lid.y + t) * WG_X + lid.x];
  }
  store(x, i32(wg.y * WG_Y + lid.y), w, h, acc);
}

// The direct form of a pass along `step`: every tap read from global memory.
fn direct(wg: vec3<u32>, lid: vec3<u32>, step: vec2<i32>) {
  let w = i32(params.width);
  let h = i32(params.height);
  let r = i32(radius());
  let x = i32(wg.x * WG_X + lid.x);
  let y = i32(wg.y);
  var acc = vec4<f32>(0.0);
  for (var t = 0; t <= 2 * r; t++) {
    let at = vec2<i32>(x, y) + (t - r) * step;
    acc += tap(u32(t)) * border_load(at.x, at.y, w, h, params.mode, params.cval);
  }
  store(x, y, w, h, acc);
}

@compute @workgroup_size(WG_X)
fn along_y_direct(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  direct(wg, lid, vec2<i32>(0, 1));
}

@compute @workgroup_size(WG_X)
fn along_x_direct(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  direct(wg, lid, vec2<i32>(1, 0));
}

@compute @workgroup_size(WG_X)
fn along_y_rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = i32(params.width);
  let h = i32(params.height);
  let r = radius();
  let x = i32(wg.x * WG_X + lid.x);
  let y0 = i32(wg.y * BLOCK);
  var acc: array<vec3<f32>, BLOCK>;
  for (var t = 0u; t < BLOCK + 2u * RADIUS; t++) {
    if (GENERAL && t >= BLOCK + 2u * r) {
      break;
    }
    let p = border_load(x, y0 - i32(r) + i32(t), w, h, params.mode, params.cval);
    accumulate(&acc, p.rgb, t, r, 0u);
  }
  for (var j = 0u; j < BLOCK; j++) {
    store(x, y0 + i32(j), w, h, vec4<f32>(acc[j], 0.0));
  }
}

// along_x_blocked: the source through the border rule (lib/window.wgsl).
fn window_pixel(x: i32, y: i32, w: i32, h: i32) -> vec4<f32> {
  return border_load(x, y, w, h, params.mode, params.cval);
}

@compute @workgroup_size(WG_X)
fn along_x_blocked(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  correlate_window(wg, lid, radius(), 0u);
}
