struct Params {
  width: u32,
  height: u32,
  channels: u32,   // 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA), interleaved in `packed`
  format: u32,     // 0: 8-bit unorm, 1: 16-bit unorm, 2: float32
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> packed: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

override WG_X: u32;

// Widens an uploaded image into the RGBA f32 working layout.
// Input: the H×W×C array exactly as NumPy holds it (C-contiguous), its bytes packed into u32
// words little-endian, so 8-bit sample k sits in byte k%4 of word k/4, 16-bit sample k in half
// k%2 of word k/2, and a float32 sample in word k. No host-side widening or copying.
// Output lanes: L -> (l, l, l, 1); LA -> (l, l, l, a); RGB -> (r, g, b, 1); RGBA unchanged.
// Integer samples become x / (2^bits - 1), the same rule as filterlab.imageio.
// Dispatch: (ceil(width / WG_X), height) workgroups; one invocation a pixel.

fn sample_at(k: u32) -> f32 {
  switch params.format {
    case 0u: {
      return f32((packed[k >> 2u] >> ((k & 3u) * 8u)) & 0xffu) / 255.0;
    }
    case 1u: {
      return f32((packed[k >> 1u] >> ((k & 1u) * 16u)) & 0xffffu) / 65535.0;
    }
    default: {
      return bitcast<f32>(packed[k]);
    }
  }
}

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x >= params.width || gid.y >= params.height) {
    return;
  }
  let i = gid.y * params.width + gid.x;
  let c = params.channels;
  let base = i * c;
  var px: vec4<f32>;
  switch c {
    case 1u: {
      let l = sample_at(base);
      px = vec4<f32>(l, l, l, 1.0);
    }
    case 2u: {
      let l = sample_at(base);
      px = vec4<f32>(l, l, l, sample_at(base + 1u));
    }
    case 3u: {
      px = vec4<f32>(sample_at(base), sample_at(base + 1u), sample_at(base + 2u), 1.0);
    }
    default: {
      px = vec4<f32>(sample_at(base), sample_at(base + 1u), sample_at(base + 2u), sample_at(base + 3u));
    }
  }
  dst[i] = px;
}
