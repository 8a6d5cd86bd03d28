struct Params {
  width: u32,
  height: u32,
  mode: u32,       // border mode, see lib/border.wgsl
  cval: f32,       // value outside a constant border
  radius: u32,     // the kernel has 2 * radius + 1 taps, radius <= MAX_RADIUS
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;

override WG_SIZE: u32;
override MAX_RADIUS: u32;
override AXIS: u32;   // 0: along x (rows), 1: along y (columns)

// One 1-D correlation pass of a separable filter (Gaussian, box, any rank-1 kernel):
// dst(p) = sum_t w(t) src(p + (t - r) e_axis).
// Tiling: a workgroup is WG_SIZE invocations along x.
//   AXIS 0 stages its row segment plus an r-wide halo on each side in workgroup memory, so each
//   input pixel is read from global memory about once rather than 2r + 1 times.
//   AXIS 1 reads straight from global memory: neighbouring invocations read neighbouring
//   addresses of the same rows, so the reads coalesce and need no staging.
// Borders: coordinates go through border_index; a constant border reads cval. The host makes
// two passes equal the full 2-D kernel by giving the second pass cval times the sum of the
// first pass's weights (filterlab.reference documents the rule).
// Alpha: written back from the source pixel (keep_alpha).
// Dispatch: (ceil(width / WG_SIZE), height) workgroups.

var<workgroup> staged: array<vec4<f32>, WG_SIZE + 2u * MAX_RADIUS>;

@compute @workgroup_size(WG_SIZE)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = i32(params.width);
  let h = i32(params.height);
  let r = i32(params.radius);
  let x = i32(wg.x * WG_SIZE + lid.x);
  let y = i32(wg.y);
  var acc = vec4<f32>(0.0);

  if (AXIS == 0u) {
    let left = i32(wg.x * WG_SIZE) - r;
    let span = WG_SIZE + 2u * u32(r);
    for (var s = lid.x; s < span; s += WG_SIZE) {
      staged[s] = border_load(left + i32(s), y, w, h, params.mode, params.cval);
    }
    workgroupBarrier();
    for (var t = 0; t <= 2 * r; t++) {
      acc += weights[t] * staged[lid.x + u32(t)];
    }
  } else {
    for (var t = 0; t <= 2 * r; t++) {
      acc += weights[t] * border_load(x, y + t - r, w, h, params.mode, params.cval);
    }
  }
  if (x < w) {
    let at = y * w + x;
    dst[at] = keep_alpha(acc, src[at]);
  }
}
