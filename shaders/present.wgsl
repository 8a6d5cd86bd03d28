struct Params {
  width: u32,
  height: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;

// Draws a working image onto the canvas without reading it back: one full-screen triangle,
// and each fragment fetches its own pixel (the canvas is sized to the image, so there is no
// filtering). Values are clamped to [0, 1] for display only and premultiplied for a
// "premultiplied" canvas. Draw: 3 vertices, no vertex buffers.

struct Varyings {
  @builtin(position) position: vec4<f32>,
}

@vertex
fn vs(@builtin(vertex_index) v: u32) -> Varyings {
  let uv = vec2<f32>(f32((v << 1u) & 2u), f32(v & 2u));
  var out: Varyings;
  out.position = vec4<f32>(uv * 2.0 - 1.0, 0.0, 1.0);
  return out;
}

@fragment
fn fs(in: Varyings) -> @location(0) vec4<f32> {
  let x = min(u32(in.position.x), params.width - 1u);
  let y = min(u32(in.position.y), params.height - 1u);
  let px = clamp(src[y * params.width + x], vec4<f32>(0.0), vec4<f32>(1.0));
  return vec4<f32>(px.rgb * px.a, px.a);
}
