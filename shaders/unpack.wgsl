struct Params {
  width: u32,
  height: u32,
  channels: u32,   // 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA), interleaved in `packed`
  format: u32,     // FORMAT_UNORM8, FORMAT_UNORM16 or FORMAT_FLOAT32 (lib/packed.wgsl)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> packed: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

override WG_X: u32;

// Widens an uploaded image into the RGBA f32 working layout (lib/packed.wgsl gives the byte
// and lane rules). The host skips this pass when the chain's first pass reads the upload
// itself (separable.wgsl, along_x_packed).
// Dispatch: (ceil(width / WG_X), height) workgroups; one invocation a pixel.

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= params.width || gid.y >= params.height) {
    return;
  }
  dst[gid.y * params.width + gid.x] = packed_pixel(gid.y * params.width + gid.x, params.channels, params.format);
}
