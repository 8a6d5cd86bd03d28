struct Params {
  width: u32,
  height: u32,
  channels: u32,   // channels of the image the user loaded: 1, 2, 3 or 4
  _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

override WG_X: u32;

// Narrows the RGBA f32 working layout back to the user's H×W×C float32 array, so the host
// can copy the mapped bytes straight into a NumPy array of that shape. The inverse of
// unpack.wgsl's lane rule: L <- r, LA <- (r, a), RGB <- rgb, RGBA <- rgba.
// Dispatch: (ceil(width / WG_X), height) workgroups; one invocation a pixel.

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= params.width || gid.y >= params.height) {
    return;
  }
  let i = gid.y * params.width + gid.x;
  let px = src[i];
  let c = params.channels;
  let base = i * c;
  switch c {
    case 1u: {
      dst[base] = px.r;
    }
    case 2u: {
      dst[base] = px.r;
      dst[base + 1u] = px.a;
    }
    case 3u: {
      dst[base] = px.r;
      dst[base + 1u] = px.g;
      dst[base + 2u] = px.b;
    }
    default: {
      dst[base] = px.r;
      dst[base + 1u] = px.g;
      dst[base + 2u] = px.b;
      dst[base + 3u] = px.a;
    }
  }
}
