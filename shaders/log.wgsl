struct Params {
  width: u32,
  height: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> across: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> down: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dst: array<vec4<f32>>;

override WG_X: u32;

// Laplacian of Gaussian, the last pass: dst = across + down, where `across` is the image
// correlated with the Gaussian's second derivative along x and the Gaussian along y, and
// `down` the same with the axes swapped; the host encodes both as separable passes before this
// one (filterlab.gpu.plan).
// Tiling: none; a pointwise pass. Borders: none here; the separable passes applied them.
// Alpha: written back from `across`, which carries the source's alpha.
// Dispatch: (ceil(width / WG_X), height) workgroups; one invocation a pixel.

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= params.width || gid.y >= params.height) {
    return;
  }
  let i = gid.y * params.width + gid.x;
  let a = across[i];
  dst[i] = keep_alpha(a + down[i], a);
}
