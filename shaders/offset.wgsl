struct Params {
  width: u32,
  height: u32,
  offset: f32,
  _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

override WG_X: u32;

// A custom kernel's offset, the last pass of a convolution: dst = src + offset on the colour
// lanes, unclipped, where `src` is the image convolved with kernel / divisor by the passes the
// host encodes before this one (filterlab.gpu.plan). The host adds it only for a non-zero
// offset.
// Tiling: none; a pointwise pass. Borders: none here; the convolution applied them.
// Alpha: written back from `src`, which carries the source's alpha.
// Dispatch: (ceil(width / WG_X), height) workgroups; one invocation a pixel.

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= params.width || gid.y >= params.height) {
    return;
  }
  let i = gid.y * params.width + gid.x;
  let c = src[i];
  dst[i] = keep_alpha(c + vec4<f32>(params.offset), c);
}
