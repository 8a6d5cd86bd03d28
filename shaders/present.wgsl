struct Params {
  width: u32,
  height: u32,
  lo: f32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;

// Draws a working image onto the canvas without reading it back: one full-screen triangle,
// and each fragment fetches its own pixel (the canvas is sized to the image, so there is no
// filtering). For display only, colour is stretched to (value - lo) * scale (lo 0 and scale 1
// leave it as it is; filterlab.display.uniforms), then colour and alpha are clamped to [0, 1]
// and premultiplied for a "premultiplied" canvas. Draw: 3 vertices, no vertex buffers.

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
  let px = src[y * params.width + x];
  let colour = clamp((px.rgb - vec3<f32>(params.lo)) * params.scale, vec3<f32>(0.0), vec3<f32>(1.0));
  let alpha = clamp(px.a, 0.0, 1.0);
  return vec4<f32>(colour * alpha, alpha);
}
