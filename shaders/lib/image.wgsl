// Working images are array<vec4<f32>>, one RGBA pixel per element, row-major. Images with
// fewer channels are widened on upload (filterlab.gpu.engine documents the lane layout), and
// filters write alpha back unchanged: colour lanes are filtered, alpha is carried.

fn keep_alpha(filtered: vec4<f32>, original: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(filtered.rgb, original.a);
}
