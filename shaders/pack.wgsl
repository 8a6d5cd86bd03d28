struct Params {
  width: u32,      // the region's width and height
  height: u32,
  channels: u32,   // channels of the image the user loaded: 1, 2, 3 or 4
  stride: u32,     // the width of the working image the region lies in
  x0: u32,         // the region's top-left corner in that image
  y0: u32,
  offset: u32,     // where the region starts in dst, in floats
  _pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

override WG_X: u32;

// Narrows a rectangle of the RGBA f32 working layout to the user's H×W×C float32 layout,
// packed tightly, so the host can copy the mapped bytes straight into a NumPy array of that
// shape: the whole image for a readback, or one tile for verification (many tiles share one
// buffer, each at its own offset). The inverse of the
// lane rule in lib/packed.wgsl: L <- r, LA <- (r, a), RGB <- rgb, RGBA <- rgba.
// Dispatch: (ceil(width / WG_X), height) workgroups; one invocation a pixel of the region.

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= params.width || gid.y >= params.height) {
    return;
  }
  let px = src[(params.y0 + gid.y) * params.stride + params.x0 + gid.x];
  let c = params.channels;
  let base = params.offset + (gid.y * params.width + gid.x) * c;
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
