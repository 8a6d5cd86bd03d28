// A correlation with a (2ry + 1) × (2r + 1) kernel of a window staged in workgroup memory
// (lib/tile.wgsl): each workgroup stages the (TILE_H + 2ry) × (TILE_W + 2r) window its
// TILE_W × TILE_H output tile reads, then correlates it with register blocking and writes the
// outputs by whole rows. ry = r for a K×K kernel, 0 for a row pass. The including shader
// defines what a window pixel is: window_pixel(x, y, w, h), the input at image coordinates
// (x, y), which may lie outside the image (the border rule is its own).

fn correlate_window(wg: vec3<u32>, lid: u32, r: u32, ry: u32) {
  let w = i32(params.width);
  let h = i32(params.height);
  let x0 = i32(wg.x * TILE_W) - i32(r);  // the window's corner
  let y0 = i32(wg.y * TILE_H) - i32(ry);
  let span = TILE_W + 2u * r;
  for (var s = lid; s < span * (TILE_H + 2u * ry); s += WG_X) {
    let at = vec2<i32>(i32(s % span), i32(s / span));
    sums[u32(at.y) * pitch() + u32(at.x)] = window_pixel(x0 + at.x, y0 + at.y, w, h);
  }
  workgroupBarrier();
  correlate_tile(lid, r, 2u * ry + 1u);
  store_tile(lid, x0 + i32(r), y0 + i32(ry), w, h);
}
