"""Time the NumPy reference Gaussian blur against scipy.ndimage on the same image.

Usage: python scripts/bench_reference.py [--size 2048] [--sigma 3] [--repeats 5]

Both blur a float32 RGBA image over its two image axes with truncate=4.0. scipy also
filters the alpha channel, which the reference carries through untouched; the colour
channels are compared to confirm that both compute the same thing.
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "py"))
from filterlab import reference  # noqa: E402


def _median_seconds(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--sigma", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    image = np.random.default_rng(0).random((args.size, args.size, 4), dtype=np.float32)
    ours = reference.gaussian_blur(image, args.sigma)  # warm up, and keep for the check
    theirs = ndi.gaussian_filter(image, (args.sigma, args.sigma, 0))
    error = float(np.abs(ours[..., :3] - theirs[..., :3]).max())

    t_ours = _median_seconds(lambda: reference.gaussian_blur(image, args.sigma), args.repeats)
    t_scipy = _median_seconds(
        lambda: ndi.gaussian_filter(image, (args.sigma, args.sigma, 0)), args.repeats
    )
    print(f"image {args.size}×{args.size} RGBA float32, sigma {args.sigma:g}, "
          f"median of {args.repeats}")
    print(f"filterlab.reference.gaussian_blur  {t_ours * 1e3:8.1f} ms")
    print(f"scipy.ndimage.gaussian_filter      {t_scipy * 1e3:8.1f} ms")
    print(f"ratio (reference / scipy)          {t_ours / t_scipy:8.2f}")
    print(f"max abs difference (colour)        {error:8.1e}")


if __name__ == "__main__":
    main()
