// The weights of a kernel, read through tap(t). Every invocation reads the same weight at the
// same time, so they live in a uniform buffer: where the summing loops unroll, the index is a
// constant and the driver can take the weight from its constant bank as an operand of the
// multiply-add, with no load. Each weight sits in the first lane of its own vec4 (a uniform
// array's elements are 16 bytes apart), so a loop that does not unroll indexes the array only,
// never a vector lane by a variable.
// Measured on an H100 (4096² RGBA, same page, same results bit for bit), against weights staged
// in workgroup memory: the one-pass blur at r = 12 0.82x as long, the 5 × 5 correlation 0.87x,
// the row pass 0.93x, the column pass 1.00x. Four weights to a vec4, read lane t % 4, made the
// row and column passes 1.45x and 1.67x as long.
// The including shader binds `weights` as var<uniform> array<vec4<f32>, MAX_TAPS>. The host
// reads MAX_TAPS from here (filterlab.gpu.shaders.constant) to size and fill the buffer; the
// planner refuses a pass with more weights (the catalog's largest kernel has 961).

const MAX_TAPS: u32 = 1024u;

fn tap(t: u32) -> f32 {
  return weights[t].x;
}
