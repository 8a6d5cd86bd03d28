struct Params {
  width: u32,
  height: u32,
  mode: u32,       // border mode, see lib/border.wgsl
  cval: f32,       // value outside a constant border
  channels: u32,   // tile_packed only: the uploaded image's channels and sample format,
  format: u32,     // as in lib/packed.wgsl
  radius: u32,     // the kernels' radius; read only by a GENERAL pipeline
  cval_x: f32,     // outside a constant border along x: cval × the sum of the column taps
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;  // row taps, then column taps
@group(0) @binding(4) var<storage, read> packed: array<u32>;

override WG_X: u32;     // invocations per workgroup
override TILE_W: u32;   // the output tile, TILE_W × TILE_H pixels: both multiples of BLOCK
override TILE_H: u32;   // (lib/block.wgsl), and TILE_W × TILE_H = BLOCK × WG_X
override RADIUS: u32;   // the kernels' radius: a constant, so loops unroll
// A GENERAL pipeline serves every radius up to RADIUS, read from params.radius: it stands in
// while the pipeline specialised for a new radius compiles in the background.
override GENERAL: bool = false;

// A separable filter (Gaussian, box, any rank-1 kernel) in one dispatch: both 1-D passes of
// separable.wgsl, dst = column ⊗ row correlated with the source, without writing or reading
// the intermediate image. Two entry points, which differ only in their source:
//   tile         reads a working image (`src`);
//   tile_packed  reads the upload (`packed`, lib/packed.wgsl) and unpacks as it reads.
// Tiling: each workgroup makes a TILE_W × TILE_H output tile in three phases.
//   1. Vertical: for every column of the tile plus r columns on each side, invocations sum
//      the column taps down BLOCK consecutive rows at a time from the BLOCK + 2r rows they
//      read (lib/block.wgsl), each read once, straight from global memory, neighbouring
//      invocations in neighbouring columns, so reads coalesce. The sums go to `sums` (TILE_H
//      rows of TILE_W + 2r values), each with the alpha of the source pixel in its column and
//      row, so the store needs no second read of the source.
//   2. Horizontal: each invocation sums the row taps along BLOCK consecutive outputs of one
//      tile row, reading `sums` (lib/tile.wgsl: neighbouring invocations take rows an odd
//      number of pixels apart, so their reads hit different banks).
//   3. Store: the outputs are parked in `sums` and written row by row, so writes coalesce.
// The intermediate stays in workgroup memory: one read of the source (and the halo's re-reads,
// mostly from cache) and one write of dst per pixel, against two of each for two passes.
// Borders: rows and columns go through border_index. The vertical phase reads cval outside a
// constant border; a column outside it holds cval_x, what the vertical phase makes of a
// column of cval (the two-pass rule of filterlab.reference, with the axes in the other
// order). Banded images (tile only): rows come from a halo buffer (BAND_HALO = r).
// Alpha: carried from the source pixel (keep_alpha's rule).
// Dispatch: (ceil(width / TILE_W), ceil(height / TILE_H)) workgroups.

var<workgroup> taps: array<f32, 4u * RADIUS + 2u>;
var<workgroup> sums: array<vec4<f32>, TILE_H * (TILE_W + 2u * RADIUS + 1u)>;

fn radius() -> u32 {
  if (GENERAL) {
    return params.radius;
  }
  return RADIUS;
}

// Item q of the vertical phase: column c of the window (image column x0 - r + c, or -1 for a
// column of cval), summed down BLOCK rows from row `first` of the tile.
struct Column {
  c: u32,
  first: u32,
  x: i32,
  top: i32,  // the image row of the first of its BLOCK + 2r inputs
}

fn columns(r: u32) -> u32 {
  return (TILE_W + 2u * r) * (TILE_H / BLOCK);
}

fn column(q: u32, wg: vec3<u32>, r: u32) -> Column {
  let c = q % (TILE_W + 2u * r);
  let first = (q / (TILE_W + 2u * r)) * BLOCK;
  let x = border_index(i32(wg.x * TILE_W) - i32(r) + i32(c), i32(params.width), params.mode);
  return Column(c, first, x, i32(wg.y * TILE_H + first) - i32(r));
}

// Store a column's sums (a column of cval_x outside a constant border) in the window, with
// the alphas of its own rows.
fn put_column(col: Column, acc: array<vec3<f32>, BLOCK>, alpha: array<f32, BLOCK>) {
  for (var j = 0u; j < BLOCK; j++) {
    var sum = vec4<f32>(acc[j], alpha[j]);
    if (col.x < 0) {
      sum = vec4<f32>(params.cval_x);
    }
    sums[(col.first + j) * pitch() + col.c] = sum;
  }
}

// Phases 2 and 3, once the window is complete.
fn finish_tile(wg: vec3<u32>, lid: u32, r: u32) {
  workgroupBarrier();
  let j = lid % TILE_H;
  let first = (lid / TILE_H) * BLOCK;
  var acc: array<vec3<f32>, BLOCK>;
  for (var t = 0u; t < BLOCK + 2u * r; t++) {
    accumulate(&acc, sums[j * pitch() + first + t].rgb, t, r, 0u);  // the row taps
  }
  var alpha: array<f32, BLOCK>;
  for (var i = 0u; i < BLOCK; i++) {
    alpha[i] = sums[j * pitch() + first + r + i].a;
  }
  workgroupBarrier();
  for (var i = 0u; i < BLOCK; i++) {
    sums[j * (TILE_W + 1u) + first + i] = vec4<f32>(acc[i], alpha[i]);
  }
  workgroupBarrier();
  let w = i32(params.width);
  let h = i32(params.height);
  let x0 = i32(wg.x * TILE_W);
  let y0 = i32(wg.y * TILE_H);
  for (var k = lid; k < TILE_W * TILE_H; k += WG_X) {
    let x = x0 + i32(k % TILE_W);
    let y = y0 + i32(k / TILE_W);
    if (x < w && y < h) {
      dst[y * w + x] = sums[(k / TILE_W) * (TILE_W + 1u) + k % TILE_W];
    }
  }
}

fn load_packed(x: i32, y: i32, h: i32) -> vec4<f32> {
  let by = border_index(y, h, params.mode);
  if (by < 0) {
    return vec4<f32>(params.cval);
  }
  return packed_pixel(u32(by * i32(params.width) + x), params.channels, params.format);
}

// Vertical-phase item q (lib/block.wgsl's blocking down one column), reading the working image.
fn column_sums(q: u32, wg: vec3<u32>, r: u32) {
  let col = column(q, wg, r);
  var acc = array<vec3<f32>, BLOCK>();
  var alpha = array<f32, BLOCK>();
  if (col.x >= 0) {
    let w = i32(params.width);
    let h = i32(params.height);
    for (var t = 0u; t < BLOCK + 2u * r; t++) {
      let p = border_load(col.x, col.top + i32(t), w, h, params.mode, params.cval);
      accumulate(&acc, p.rgb, t, r, 2u * r + 1u);  // the column taps
      if (t >= r && t < r + BLOCK) {
        alpha[t - r] = p.a;
      }
    }
  }
  put_column(col, acc, alpha);
}

// column_sums reading the upload. Written out again rather than shared: a function that could
// read either source would make each entry point use both bindings.
fn column_sums_packed(q: u32, wg: vec3<u32>, r: u32) {
  let col = column(q, wg, r);
  var acc = array<vec3<f32>, BLOCK>();
  var alpha = array<f32, BLOCK>();
  if (col.x >= 0) {
    let h = i32(params.height);
    for (var t = 0u; t < BLOCK + 2u * r; t++) {
      let p = load_packed(col.x, col.top + i32(t), h);
      accumulate(&acc, p.rgb, t, r, 2u * r + 1u);
      if (t >= r && t < r + BLOCK) {
        alpha[t - r] = p.a;
      }
    }
  }
  put_column(col, acc, alpha);
}

@compute @workgroup_size(WG_X)
fn tile(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = radius();
  stage_weights(lid, 4u * r + 2u);
  for (var q = lid; q < columns(r); q += WG_X) {
    column_sums(q, wg, r);
  }
  finish_tile(wg, lid, r);
}

@compute @workgroup_size(WG_X)
fn tile_packed(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = radius();
  stage_weights(lid, 4u * r + 2u);
  for (var q = lid; q < columns(r); q += WG_X) {
    column_sums_packed(q, wg, r);
  }
  finish_tile(wg, lid, r);
}
