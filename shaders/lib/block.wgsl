// Register blocking for 1-D correlations. An invocation computes BLOCK consecutive outputs along
// one axis from the BLOCK + 2r consecutive inputs they read, each input loaded once, instead of
// loading 2r + 1 inputs for every output: (BLOCK + 2r) / BLOCK loads an output. The caller keeps
// the BLOCK running sums in a function variable and passes the inputs in order. Only the colour
// lanes are summed: alpha is carried (lib/image.wgsl), so the caller writes it back itself.
// The weights are read through tap() (lib/taps.wgsl). The host reads BLOCK from here
// (filterlab.gpu.shaders.constant), to size tiles and dispatches.

const BLOCK: u32 = 8u;

// Add input `p`, the t-th of the BLOCK + 2r inputs, to every output it reaches: output j takes
// it with weight tap(first + t - j), when 0 <= t - j <= 2r. The sums run over t in order, so
// each output adds its taps in the same order as an unblocked loop would.
fn accumulate(acc: ptr<function, array<vec3<f32>, BLOCK>>, p: vec3<f32>, t: u32, r: u32, first: u32) {
  if (t + 1u >= BLOCK && t <= 2u * r) {  // inside the window of every output: no tests
    for (var j = 0u; j < BLOCK; j++) {
      (*acc)[j] += tap(first + t - j) * p;
    }
  } else {
    for (var j = 0u; j < BLOCK; j++) {
      if (j <= t && t - j <= 2u * r) {
        (*acc)[j] += tap(first + t - j) * p;
      }
    }
  }
}
