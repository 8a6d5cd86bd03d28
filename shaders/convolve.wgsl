struct Params {
  width: u32,
  height: u32,
  mode: u32,       // border mode, see lib/border.wgsl
  cval: f32,       // value outside a constant border
  radius: u32,     // kernel is (2 * radius + 1)², radius <= MAX_RADIUS
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;

override WG_X: u32;
override WG_Y: u32;
override MAX_RADIUS: u32;

// General K×K correlation, K = 2 * radius + 1 <= 31: dst(y, x) = sum w(j, i) src(y+j-r, x+i-r).
// Convolution is correlation with the kernel flipped; the host flips it.
// Tiling: each WG_X × WG_Y workgroup computes a WG_X × WG_Y output tile. For each kernel row j
// it stages, in workgroup memory, the WG_Y input rows that row touches, each WG_X + 2r wide,
// then every invocation sums its K taps from there. Global reads per output: K (WG_X + 2r) / WG_X
// instead of K².
// Borders: every staged coordinate goes through border_index, so tiles on the edge need no
// special case; a constant border stages cval.
// Alpha: written back from the source pixel (keep_alpha).
// Dispatch: (ceil(width / WG_X), ceil(height / WG_Y)) workgroups.

var<workgroup> slab: array<vec4<f32>, (WG_X + 2u * MAX_RADIUS) * WG_Y>;

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = i32(params.width);
  let h = i32(params.height);
  let r = i32(params.radius);
  let k = 2 * r + 1;
  let slab_w = WG_X + 2u * u32(r);
  let x = i32(wg.x * WG_X + lid.x);
  let y = i32(wg.y * WG_Y + lid.y);
  let left = i32(wg.x * WG_X) - r;
  let row = lid.y * slab_w;

  var acc = vec4<f32>(0.0);
  for (var j = 0; j < k; j++) {
    for (var sx = lid.x; sx < slab_w; sx += WG_X) {
      slab[row + sx] = border_load(left + i32(sx), y + j - r, w, h, params.mode, params.cval);
    }
    workgroupBarrier();
    for (var i = 0; i < k; i++) {
      acc += weights[j * k + i] * slab[row + lid.x + u32(i)];
    }
    workgroupBarrier();
  }
  if (x < w && y < h) {
    let at = y * w + x;
    dst[at] = keep_alpha(acc, src[at]);
  }
}
