// Border index rule, shared by every filter. It mirrors filterlab/borders.py exactly, and both
// follow scipy.ndimage: for a coordinate i on an axis of n samples,
//   reflect   d c b a | a b c d | d c b a   period 2n
//   mirror      d c b | a b c d | c b a     period 2n - 2 (n == 1 gives 0)
//   nearest   a a a a | a b c d | d d d d
//   wrap      a b c d | a b c d | a b c d   period n
//   constant  k k k k | a b c d | k k k k   returns -1; the caller substitutes cval
// The codes below are the only place the numbers are set: the host reads them from this file
// (filterlab.gpu.shaders), and a test checks the names against filterlab.borders.MODES.

const MODE_REFLECT: u32 = 0u;
const MODE_MIRROR: u32 = 1u;
const MODE_NEAREST: u32 = 2u;
const MODE_WRAP: u32 = 3u;
const MODE_CONSTANT: u32 = 4u;

fn border_index(i: i32, n: i32, mode: u32) -> i32 {
  if (i >= 0 && i < n) {
    return i;
  }
  switch mode {
    case MODE_REFLECT: {
      let period = 2 * n;
      var m = i % period;
      if (m < 0) { m += period; }
      if (m >= n) { m = period - 1 - m; }
      return m;
    }
    case MODE_MIRROR: {
      if (n == 1) { return 0; }
      let period = 2 * n - 2;
      var m = i % period;
      if (m < 0) { m += period; }
      if (m >= n) { m = period - m; }
      return m;
    }
    case MODE_NEAREST: {
      return clamp(i, 0, n - 1);
    }
    case MODE_WRAP: {
      var m = i % n;
      if (m < 0) { m += n; }
      return m;
    }
    default: {  // MODE_CONSTANT
      return -1;
    }
  }
}

// Banded images. An image too large for one binding is processed in horizontal bands. Then
// `src` holds the band's rows plus BAND_HALO rows above and below, which the host has already
// filled by the vertical border rule, so only x needs the rule here. BAND_HALO < 0 (the
// default) means `src` holds the whole image.
override BAND_HALO: i32 = -1;

// Index in `src` of the pixel at (x, y), where (x, y) lies in the image (or band).
fn src_index(x: i32, y: i32, width: i32) -> i32 {
  if (BAND_HALO >= 0) {
    return (y + BAND_HALO) * width + x;
  }
  return y * width + x;
}

// The pixel at (x, y) after the border rule, or cval in every lane outside a constant border.
fn border_load(x: i32, y: i32, width: i32, height: i32, mode: u32, cval: f32) -> vec4<f32> {
  let bx = border_index(x, width, mode);
  var by = y + BAND_HALO;
  if (BAND_HALO < 0) {
    by = border_index(y, height, mode);
  }
  if (bx < 0 || by < 0) {
    return vec4<f32>(cval);
  }
  return src[by * width + bx];
}
