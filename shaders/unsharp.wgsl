struct Params {
  width: u32,
  height: u32,
  amount: f32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> blurred: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dst: array<vec4<f32>>;

override WG_X: u32;

// Unsharp mask, the last pass: dst = src + amount (src - blurred), unclipped, where `blurred`
// is src after the two separable Gaussian passes the host encodes before this one.
// Tiling: none; a pointwise pass. Borders: none here; the blur passes applied them.
// Alpha: written back from the source pixel (keep_alpha).
// Dispatch: (ceil(width / WG_X), height) workgroups; one invocation a pixel.

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= params.width || gid.y >= params.height) {
    return;
  }
  let i = gid.y * params.width + gid.x;
  let c = src[i];
  dst[i] = keep_alpha(c + params.amount * (c - blurred[i]), c);
}
