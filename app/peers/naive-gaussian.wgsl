struct Params {
  width: u32,
  height: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dst: array<vec4<f32>>;

override WG_X: u32;
override WG_Y: u32;
override RADIUS: u32;
override AXIS: u32;  // 0: along x, 1: along y

// A peer for the benchmark page, not part of the app: the plain way to write a separable
// Gaussian. One invocation computes one RGBA pixel of one 1-D pass,
//   dst(p) = sum_t weights[t] * src(p + (t - RADIUS) e_AXIS),  t in 0..2 RADIUS,
// reading every tap straight from global memory: no workgroup tiles, no staging. All four
// channels are filtered, alpha included. Borders follow scipy.ndimage's "reflect"
// (d c b a | a b c d | d c b a, period 2n), the rule the app's reference uses by default.
// The host runs it twice (AXIS 0, then AXIS 1) and dispatches
// (ceil(width / WG_X), ceil(height / WG_Y)).

fn reflect(i: i32, n: i32) -> i32 {
  let period = 2 * n;
  var m = i % period;
  if (m < 0) { m += period; }
  if (m >= n) { m = period - 1 - m; }
  return m;
}

@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let w = i32(params.width);
  let h = i32(params.height);
  let x = i32(id.x);
  let y = i32(id.y);
  if (x >= w || y >= h) {
    return;
  }
  let r = i32(RADIUS);
  var acc = vec4<f32>(0.0);
  for (var t = 0; t <= 2 * r; t++) {
    var sx = x;
    var sy = y;
    if (AXIS == 0u) {
      sx = reflect(x + t - r, w);
    } else {
      sy = reflect(y + t - r, h);
    }
    acc += weights[t] * src[sy * w + sx];
  }
  dst[y * w + x] = acc;
}
