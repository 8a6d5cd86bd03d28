struct Params {
  width: u32,
  height: u32,
  mode: u32,        // border mode, see lib/border.wgsl
  cval: f32,        // value outside a constant border
  neighbours: u32,  // 4: scipy.ndimage.laplace; 8: all eight neighbours minus 8 × centre
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

override WG_X: u32;
override WG_Y: u32;

// Discrete Laplacian: with 4 neighbours the sum of the second differences along x and y
// (n + s + e + w - 4c); with 8 neighbours the diagonals join in (sum of all 8 - 8c).
// Tiling: none; each invocation reads its 3×3 neighbourhood from global memory.
// Borders: border_load, with cval outside a constant border.
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
  let m = params.mode;
  let k = params.cval;
  let c = src[src_index(x, y, w)];
  let orthogonal = border_load(x, y - 1, w, h, m, k) + border_load(x, y + 1, w, h, m, k)
            + border_load(x - 1, y, w, h, m, k) + border_load(x + 1, y, w, h, m, k);
  var result = orthogonal - 4.0 * c;
  if (params.neighbours == 8u) {
    let diagonal = border_load(x - 1, y - 1, w, h, m, k) + border_load(x + 1, y - 1, w, h, m, k)
                 + border_load(x - 1, y + 1, w, h, m, k) + border_load(x + 1, y + 1, w, h, m, k);
    result = orthogonal + diagonal - 8.0 * c;
  }
  dst[y * w + x] = keep_alpha(result, c);
}
