struct Params {
  width: u32,
  height: u32,
  lo: f32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;

override WG_X: u32;

// Converts a working image to 8-bit RGBA for display where the browser cannot present a
// WebGPU canvas: colour stretched to (value - lo) * scale as present.wgsl does, values clamped
// to [0, 1], rounded, packed r-g-b-a from the low byte up, which is ImageData's byte order. A
// quarter of the bytes of a float readback.
// Dispatch: (ceil(width / WG_X), height) workgroups; one invocation a pixel.

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= params.width || gid.y >= params.height) {
    return;
  }
  let i = gid.y * params.width + gid.x;
  let px = src[i];
  let shown = vec4<f32>((px.rgb - vec3<f32>(params.lo)) * params.scale, px.a);
  dst[i] = pack4x8unorm(clamp(shown, vec4<f32>(0.0), vec4<f32>(1.0)));
}
