// Output tiles made from a window of the source in workgroup memory, for tiled entry points
// that give each invocation one block of outputs (lib/block.wgsl): TILE_W × TILE_H outputs,
// TILE_W × TILE_H = BLOCK × WG_X. The including shader declares the override constants WG_X,
// TILE_W, TILE_H, RADIUS and GENERAL, the bindings `weights` (lib/taps.wgsl), `src` and `dst`
// and the workgroup array `sums` (the window, rows pitch() apart), and fills the window and
// waits for the whole workgroup before calling correlate_tile.

// Row stride of `sums`: TILE_W plus the halo of the largest radius, plus one to make it odd
// (TILE_W is even), so that invocations reading neighbouring rows hit different banks.
fn pitch() -> u32 {
  return TILE_W + 2u * RADIUS + 1u;
}

// Invocation `lid` correlates the window with a `rows` × (2r + 1) kernel (taps row after
// row) for BLOCK consecutive outputs of one tile row: output (i, j) of the tile reads window
// rows j to j + rows - 1, columns i to i + 2r. Neighbouring invocations take neighbouring
// rows. Once every invocation has read the window, the outputs are parked in it, row stride
// TILE_W + 1, so that stores can write whole rows (parked). The loops run to bounds written in
// RADIUS (separable.wgsl says why: on an H100 the register-blocked 5×5 correlation took 0.49×
// as long as with bounds computed from `rows` and `r`).
fn correlate_tile(lid: u32, r: u32, rows: u32) {
  let j = lid % TILE_H;
  let first = (lid / TILE_H) * BLOCK;
  var acc: array<vec3<f32>, BLOCK>;
  for (var row = 0u; row < 2u * RADIUS + 1u; row++) {
    if (row >= rows) {
      break;
    }
    for (var t = 0u; t < BLOCK + 2u * RADIUS; t++) {
      if (GENERAL && t >= BLOCK + 2u * r) {
        break;
      }
      accumulate(&acc, sums[(j + row) * pitch() + first + t].rgb, t, r, row * (2u * r + 1u));
    }
  }
  workgroupBarrier();
  for (var i = 0u; i < BLOCK; i++) {
    sums[j * (TILE_W + 1u) + first + i] = vec4<f32>(acc[i], 0.0);
  }
  workgroupBarrier();
}

// The colour of output k of the tile (row-major, k < TILE_W × TILE_H), once parked.
fn parked(k: u32) -> vec3<f32> {
  return sums[(k / TILE_W) * (TILE_W + 1u) + k % TILE_W].rgb;
}

// Write the parked outputs of the tile at (x0, y0) that lie inside the image, whole rows at
// a time, with the alpha of the source pixel (`src`, through lib/border.wgsl's src_index).
fn store_tile(lid: u32, x0: i32, y0: i32, w: i32, h: i32) {
  for (var k = lid; k < TILE_W * TILE_H; k += WG_X) {
    let x = x0 + i32(k % TILE_W);
    let y = y0 + i32(k / TILE_W);
    if (x < w && y < h) {
      dst[y * w + x] = vec4<f32>(parked(k), src[src_index(x, y, w)].a);
    }
  }
}
