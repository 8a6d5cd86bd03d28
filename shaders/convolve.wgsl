struct Params {
  width: u32,
  height: u32,
  mode: u32,       // border mode, see lib/border.wgsl
  cval: f32,       // value outside a constant border
  radius: u32,     // the kernel's radius; read only by a GENERAL pipeline
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> weights: array<vec4<f32>, MAX_TAPS>;  // K × K, row-major (lib/taps.wgsl)

override WG_X: u32;
override WG_Y: u32;    // tiled and rows only
override TILE_W: u32;  // blocked only: its output tile, TILE_W × TILE_H = BLOCK × WG_X (lib/tile.wgsl)
override TILE_H: u32;
override RADIUS: u32;  // the kernel's radius: a constant, so loops unroll
// A GENERAL pipeline serves every radius up to RADIUS, read from params.radius: it stands in
// while the pipeline specialised for a new kernel size compiles in the background.
override GENERAL: bool = false;

fn radius() -> u32 {
  if (GENERAL) {
    return params.radius;
  }
  return RADIUS;
}

// General K×K correlation, K = 2 * radius + 1 <= 31: dst(y, x) = sum w(j, i) src(y+j-r, x+i-r).
// Convolution is correlation with the kernel flipped; the host flips it. Each WG_X × WG_Y
// workgroup computes a WG_X × WG_Y output tile; the weights are read through tap()
// (lib/taps.wgsl).
// Three entry points; the host picks one by radius:
//   blocked  stages the whole (TILE_H + 2r) × (TILE_W + 2r) input window once (lib/window.wgsl),
//            then each invocation sums BLOCK consecutive outputs of one row, reading each
//            window pixel of a kernel row once for all of them (lib/block.wgsl): K (BLOCK +
//            2r) / BLOCK workgroup reads per output instead of K². The tile is chosen per
//            device and radius (filterlab.gpu.plan.tile_shape); outputs are written by whole
//            rows. Dispatch (ceil(width / TILE_W), ceil(height / TILE_H)).
//   tiled    stages the whole (WG_X + 2r) × (WG_Y + 2r) input tile once, then every invocation
//            sums its K² products from the tile in workgroup memory: about one global read
//            per pixel. For radii whose tile fits workgroup memory.
//   rows     for larger kernels: for each kernel row j it stages the WG_Y input rows that row
//            touches, WG_X + 2r wide, then sums that row's K taps. Global reads per output:
//            K (WG_X + 2r) / WG_X instead of K².
//            Dispatch (ceil(width / WG_X), ceil(height / WG_Y)) for tiled and rows.
// Borders: every staged coordinate goes through border_index, so edge tiles need no special
// case; a constant border stages cval.
// Alpha: written back from the source pixel (keep_alpha).

var<workgroup> tile: array<vec4<f32>, (WG_X + 2u * RADIUS) * (WG_Y + 2u * RADIUS)>;
var<workgroup> slab: array<vec4<f32>, (WG_X + 2u * RADIUS) * WG_Y>;
var<workgroup> sums: array<vec4<f32>, (TILE_H + 2u * RADIUS) * (TILE_W + 2u * RADIUS + 1u)>;

fn store(x: i32, y: i32, w: i32, h: i32, acc: vec4<f32>) {
  if (x < w && y < h) {
    dst[y * w + x] = keep_alpha(acc, src[src_index(x, y, w)]);
  }
}

@compute @workgroup_size(WG_X, WG_Y)
fn tiled(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = i32(params.width);
  let h = i32(params.height);
  let r = radius();
  let k = 2u * r + 1u;
  let span_x = WG_X + 2u * r;
  let span_y = WG_Y + 2u * r;
  let left = i32(wg.x * WG_X) - i32(r);
  let top = i32(wg.y * WG_Y) - i32(r);
  let flat = lid.y * WG_X + lid.x;
  for (var s = flat; s < span_x * span_y; s += WG_X * WG_Y) {
    tile[s] = border_load(left + i32(s % span_x), top + i32(s / span_x), w, h, params.mode, params.cval);
  }
  workgroupBarrier();
  var acc = vec4<f32>(0.0);
  for (var j = 0u; j < 2u * RADIUS + 1u; j++) {  // constant bounds (separable.wgsl says why)
    if (GENERAL && j >= k) {
      break;
    }
    let base = (lid.y + j) * span_x + lid.x;
    for (var i = 0u; i < 2u * RADIUS + 1u; i++) {
      if (GENERAL && i >= k) {
        break;
      }
      acc += tap(j * k + i) * tile[base + i];
    }
  }
  store(i32(wg.x * WG_X + lid.x), i32(wg.y * WG_Y + lid.y), w, h, acc);
}

@compute @workgroup_size(WG_X, WG_Y)
fn rows(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = i32(params.width);
  let h = i32(params.height);
  let r = i32(radius());
  let k = 2 * r + 1;
  let slab_w = WG_X + 2u * u32(r);
  let y = i32(wg.y * WG_Y + lid.y);
  let left = i32(wg.x * WG_X) - r;
  let line = lid.y * slab_w;

  var acc = vec4<f32>(0.0);
  for (var j = 0; j < k; j++) {
    for (var sx = lid.x; sx < slab_w; sx += WG_X) {
      slab[line + sx] = border_load(left + i32(sx), y + j - r, w, h, params.mode, params.cval);
    }
    workgroupBarrier();
    for (var i = 0; i < 2 * i32(RADIUS) + 1; i++) {
      if (GENERAL && i >= k) {
        break;
      }
      acc += tap(u32(j * k + i)) * slab[line + lid.x + u32(i)];
    }
    workgroupBarrier();
  }
  store(i32(wg.x * WG_X + lid.x), y, w, h, acc);
}

// blocked: the source through the border rule (lib/window.wgsl).
fn window_pixel(x: i32, y: i32, w: i32, h: i32) -> vec4<f32> {
  return border_load(x, y, w, h, params.mode, params.cval);
}

@compute @workgroup_size(WG_X)
fn blocked(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  correlate_window(wg, lid, radius(), radius());
}
