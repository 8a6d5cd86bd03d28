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
@group(0) @binding(3) var<uniform> weights: array<vec4<f32>, MAX_TAPS>;  // row taps, then column taps (lib/taps.wgsl)
@group(0) @binding(4) var<storage, read> packed: array<u32>;

override WG_X: u32;     // invocations per workgroup
override TILE_W: u32;   // the output tile, TILE_W × TILE_H pixels: TILE_H a multiple of ROWS,
override TILE_H: u32;   // TILE_W of COLS, and TILE_W × TILE_H ≤ COLS × WG_X
// Register blocking (lib/block.wgsl): the rows an item of the vertical phase sums, and the
// outputs an item of the horizontal phase makes. Each at most BLOCK, which sizes the arrays
// that hold them (the host keeps to it; WGSL cannot assert on override constants), and COLS
// even, so that TILE_W is and pitch() stays odd. Smaller blocks hold fewer values in
// registers, so more workgroups fit a multiprocessor, for more re-reads of the halo.
override ROWS: u32;
override COLS: u32;
// The kernels' radius: a constant, so loops unroll. Loops over taps run to bounds written in
// RADIUS itself, with the radius of a GENERAL pipeline as an early exit (separable.wgsl says
// why); the running sums are written out here rather than kept by lib/block.wgsl's
// accumulate.
override RADIUS: u32;
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
//      the column taps down ROWS consecutive rows at a time from the ROWS + 2r rows they
//      read (lib/block.wgsl), each read once, straight from global memory, neighbouring
//      invocations in neighbouring columns, so reads coalesce. The sums go to `sums` (TILE_H
//      rows of TILE_W + 2r values), each with the alpha of the source pixel in its column and
//      row, so the store needs no second read of the source.
//   2. Horizontal: each invocation sums the row taps along COLS consecutive outputs of one
//      tile row, reading `sums` (lib/tile.wgsl: neighbouring invocations take rows an odd
//      number of pixels apart, so their reads hit different banks); invocations past the
//      tile's TILE_W × TILE_H / COLS blocks wait.
//   3. Store: the outputs are parked in `sums` and written row by row, so writes coalesce.
// The intermediate stays in workgroup memory: one read of the source (and the halo's re-reads,
// mostly from cache) and one write of dst per pixel, against two of each for two passes.
// Borders: rows and columns go through border_index. The vertical phase reads cval outside a
// constant border; a column outside it holds cval_x, what the vertical phase makes of a
// column of cval (the two-pass rule of filterlab.reference, with the axes in the other
// order). Banded images (tile only): rows come from a halo buffer (BAND_HALO = r).
// Alpha: carried from the source pixel (keep_alpha's rule).
// Dispatch: (ceil(width / TILE_W), ceil(height / TILE_H)) workgroups.
// Tile shape and blocks (filterlab.gpu.plan.tile_shape says how, and what it measured): the
// window as wide as the workgroup, so that phase 1 is one round with every invocation busy.

var<workgroup> sums: array<vec4<f32>, TILE_H * (TILE_W + 2u * RADIUS + 1u)>;

fn radius() -> u32 {
  if (GENERAL) {
    return params.radius;
  }
  return RADIUS;
}

// Items of the vertical phase: the window's TILE_W + 2r columns, each in TILE_H / ROWS blocks
// of ROWS rows.
fn columns(r: u32) -> u32 {
  return (TILE_W + 2u * r) * (TILE_H / ROWS);
}

// Where image row y is read from: its index in `src` after the border rule, -1 for a row of
// cval, or its row in a band's halo buffer.
fn source_row(y: i32, h: i32) -> i32 {
  if (BAND_HALO >= 0) {
    return y + BAND_HALO;
  }
  return border_index(y, h, params.mode);
}

// Whether `count` rows from image row `top` are all read as they are (no border rule): then
// row y is row y + max(BAND_HALO, 0) of `src`. The summing loops take this path apart from
// the one through the border rule, which, called in an unrolled loop, measured 3.7× slower
// on an H100.
fn rows_inside(top: i32, count: u32, h: i32) -> bool {
  return BAND_HALO >= 0 || (top >= 0 && top + i32(count) <= h);
}

// The register blocking of lib/block.wgsl, written out with four-lane sums: input p, the t-th
// of an item's block + 2r inputs (ROWS or COLS), reaches output j with tap `first + t - j` when
// 0 <= t - j <= 2r.
fn tap_of(t: u32, j: u32, r: u32) -> bool {
  return t >= j && t - j <= 2u * r;
}

// Input p, the t-th of an item's ROWS + 2r inputs down its column: added to each running sum
// it reaches with the column taps, and kept as the alpha of the output in its own row.
fn add_input(acc: ptr<function, array<vec4<f32>, BLOCK>>, alpha: ptr<function, array<f32, BLOCK>>,
             p: vec4<f32>, t: u32, r: u32) {
  for (var j = 0u; j < ROWS; j++) {
    if (tap_of(t, j, r)) {
      (*acc)[j] += tap(2u * r + 1u + t - j) * p;
    }
  }
  if (t >= r && t - r < ROWS) {
    (*alpha)[t - r] = p.a;
  }
}

// Store item (c, b)'s sums in the window (a column of cval_x where x < 0: outside a constant
// border).
fn put_column(c: u32, b: u32, x: i32, acc: ptr<function, array<vec4<f32>, BLOCK>>,
              alpha: ptr<function, array<f32, BLOCK>>) {
  for (var j = 0u; j < ROWS; j++) {
    var sum = vec4<f32>((*acc)[j].rgb, (*alpha)[j]);
    if (x < 0) {
      sum = vec4<f32>(params.cval_x);
    }
    sums[(b * ROWS + j) * pitch() + c] = sum;
  }
}

// Phases 2 and 3, once the vertical sums of the window are in `sums`.
fn finish_tile(wg: vec3<u32>, lid: u32, r: u32) {
  workgroupBarrier();
  let j = lid % TILE_H;
  let first = (lid / TILE_H) * COLS;
  let busy = lid < TILE_W * TILE_H / COLS;  // one block of the tile
  var acc: array<vec4<f32>, BLOCK>;
  var alpha: array<f32, BLOCK>;
  if (busy) {
    for (var t = 0u; t < COLS + 2u * RADIUS; t++) {  // a constant bound (separable.wgsl)
      if (GENERAL && t >= COLS + 2u * r) {
        break;
      }
      let p = sums[j * pitch() + first + t];
      for (var i = 0u; i < COLS; i++) {
        if (tap_of(t, i, r)) {
          acc[i] += tap(t - i) * p;  // the row taps
        }
      }
    }
    for (var i = 0u; i < COLS; i++) {
      alpha[i] = sums[j * pitch() + first + r + i].a;
    }
  }
  workgroupBarrier();
  if (busy) {
    for (var i = 0u; i < COLS; i++) {
      sums[j * (TILE_W + 1u) + first + i] = vec4<f32>(acc[i].rgb, alpha[i]);
    }
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

// Phase 1's loops are written out in each entry point rather than shared: a function that
// could read either source would make each entry point use both bindings. Item q sums one
// window column (image column x after the border rule, or -1 for a column of cval_x) down
// ROWS rows, and stores the sums with the alpha of each row's own pixel.
@compute @workgroup_size(WG_X)
fn tile(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = i32(params.width);
  let h = i32(params.height);
  let r = radius();
  for (var q = lid; q < columns(r); q += WG_X) {
    let c = q % (TILE_W + 2u * r);
    let b = q / (TILE_W + 2u * r);
    let x = border_index(i32(wg.x * TILE_W + c) - i32(r), w, params.mode);
    let top = i32(wg.y * TILE_H + b * ROWS) - i32(r);
    var acc = array<vec4<f32>, BLOCK>();  // explicitly: a loop body's var must start at zero
    var alpha = array<f32, BLOCK>();
    if (x >= 0 && rows_inside(top, ROWS + 2u * r, h)) {
      let first = (top + max(BAND_HALO, 0)) * w + x;
      for (var t = 0u; t < ROWS + 2u * RADIUS; t++) {  // a constant bound (separable.wgsl)
        if (GENERAL && t >= ROWS + 2u * r) {
          break;
        }
        let p = src[first + i32(t) * w];
        add_input(&acc, &alpha, p, t, r);
      }
    } else if (x >= 0) {
      for (var t = 0u; t < ROWS + 2u * RADIUS; t++) {
        if (GENERAL && t >= ROWS + 2u * r) {
          break;
        }
        let y = source_row(top + i32(t), h);
        var p = vec4<f32>(params.cval);
        if (y >= 0) {
          p = src[y * w + x];
        }
        add_input(&acc, &alpha, p, t, r);
      }
    }
    put_column(c, b, x, &acc, &alpha);
  }
  finish_tile(wg, lid, r);
}

@compute @workgroup_size(WG_X)
fn tile_packed(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let w = i32(params.width);
  let h = i32(params.height);
  let r = radius();
  for (var q = lid; q < columns(r); q += WG_X) {
    let c = q % (TILE_W + 2u * r);
    let b = q / (TILE_W + 2u * r);
    let x = border_index(i32(wg.x * TILE_W + c) - i32(r), w, params.mode);
    let top = i32(wg.y * TILE_H + b * ROWS) - i32(r);
    var acc = array<vec4<f32>, BLOCK>();  // explicitly: a loop body's var must start at zero
    var alpha = array<f32, BLOCK>();
    let rgba8 = params.channels == 4u && params.format == FORMAT_UNORM8;
    if (x >= 0 && rgba8 && rows_inside(top, ROWS + 2u * r, h)) {
      // 8-bit RGBA away from the borders: as packed_pixel reads it, without its branches.
      let first = top * w + x;
      for (var t = 0u; t < ROWS + 2u * RADIUS; t++) {
        if (GENERAL && t >= ROWS + 2u * r) {
          break;
        }
        let p = unpack4x8unorm(packed[first + i32(t) * w]);
        add_input(&acc, &alpha, p, t, r);
      }
    } else if (x >= 0) {
      for (var t = 0u; t < ROWS + 2u * RADIUS; t++) {
        if (GENERAL && t >= ROWS + 2u * r) {
          break;
        }
        let p = load_packed(x, top + i32(t), h);
        add_input(&acc, &alpha, p, t, r);
      }
    }
    put_column(c, b, x, &acc, &alpha);
  }
  finish_tile(wg, lid, r);
}
