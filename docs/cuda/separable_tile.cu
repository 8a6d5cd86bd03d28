// The one-pass blur of shaders/separable_tile.wgsl (entry point `tile_packed`: RGBA 8-bit in,
// float32 RGBA out, reflect border, alpha carried), transcribed to CUDA to see what the same
// algorithm costs on an NVIDIA GPU outside WebGPU: no bounds checks on buffer accesses, and
// register limits the kernel can set (__launch_bounds__). docs/benchmarks.md, section
// "2026-11-27 (evening)", gives the figures and what they mean for the WGSL kernel.
//
//   nvcc -O3 -arch=sm_90 -o separable_tile separable_tile.cu && ./separable_tile
//
// It needs an NVIDIA GPU and the CUDA toolkit, so the app's build and tests do not run it.
//
// `tile` has the WGSL kernel's tiles, phases and register blocks; its rows go through one
// loop that picks the border rule row by row. `tile2` differs in three ways: it reads the rows
// inside the image on their own path (one branch an item instead of a select a row), turns
// bytes into floats by the exponent trick, and applies 1/255 once to the sums.
//
// Each line of output gives a kernel's median over 200 timed launches (after 50 untimed), its
// registers, how many of its blocks fit a multiprocessor, and its largest difference from a
// double-precision blur at 2,000 pixels, the corners among them.
#include <cstdio>
#include <cstdint>
#include <cmath>
#include <vector>
#include <algorithm>
#include <cuda_runtime.h>

__constant__ float ctaps[2 * (2 * 32 + 1)];  // row taps, then column taps

__host__ __device__ __forceinline__ int reflect(int i, int n) {
  if (i >= 0 && i < n) return i;
  int p = 2 * n; int m = i % p; if (m < 0) m += p; if (m >= n) m = p - 1 - m; return m;
}

// Sample k of an RGBA 8-bit word, as x / 255 (`tile`) or as x, exactly: the byte in the
// mantissa of 2^23, less 2^23 (`tile2`).
__device__ __forceinline__ float unorm(uint32_t v, int k) {
  return ((v >> (8 * k)) & 255u) * (1.f / 255.f);
}
__device__ __forceinline__ float byte_value(uint32_t v, int k) {
  return __uint_as_float(((v >> (8 * k)) & 255u) | 0x4b000000u) - 8388608.f;
}

// Running sums of one item of the vertical phase: ROWS outputs down a column.
template <int ROWS>
struct Column {
  float r[ROWS] = {}, g[ROWS] = {}, b[ROWS] = {}, a[ROWS] = {};
};

// Input t of the item's ROWS + 2R, added to each sum it reaches with the column taps, and kept
// as the alpha of the output in its own row. `scaled`: convert to x / 255 here, else later.
template <int R, int ROWS, bool scaled>
__device__ __forceinline__ void add_input(Column<ROWS>& col, uint32_t v, int t) {
  const float pr = scaled ? unorm(v, 0) : byte_value(v, 0);
  const float pg = scaled ? unorm(v, 1) : byte_value(v, 1);
  const float pb = scaled ? unorm(v, 2) : byte_value(v, 2);
#pragma unroll
  for (int j = 0; j < ROWS; j++) {
    if (t >= j && t - j <= 2 * R) {
      const float k = ctaps[2 * R + 1 + t - j];
      col.r[j] += k * pr; col.g[j] += k * pg; col.b[j] += k * pb;
    }
  }
  if (t >= R && t - R < ROWS) col.a[t - R] = scaled ? unorm(v, 3) : byte_value(v, 3);
}

// Phases 2 and 3 of the WGSL kernel, once the window's vertical sums are in `sums`: the row taps
// along COLS outputs an invocation, then the outputs parked in `sums` and stored row by row.
template <int R, int COLS, int WG, int TW, int TH>
__device__ __forceinline__ void finish_tile(float4* sums, float4* __restrict__ dst, int w, int h) {
  constexpr int PITCH = TW + 2 * R + 1;
  const int lid = threadIdx.x;
  const int x0 = blockIdx.x * TW, y0 = blockIdx.y * TH;
  __syncthreads();
  const int j = lid % TH, first = (lid / TH) * COLS;
  const bool busy = lid < TW * TH / COLS;
  float ar[COLS] = {}, ag[COLS] = {}, ab[COLS] = {}, al[COLS] = {};
  if (busy) {
#pragma unroll
    for (int t = 0; t < COLS + 2 * R; t++) {
      const float4 p = sums[j * PITCH + first + t];
#pragma unroll
      for (int i = 0; i < COLS; i++) {
        if (t >= i && t - i <= 2 * R) {
          const float k = ctaps[t - i];
          ar[i] += k * p.x; ag[i] += k * p.y; ab[i] += k * p.z;
        }
      }
    }
#pragma unroll
    for (int i = 0; i < COLS; i++) al[i] = sums[j * PITCH + first + R + i].w;
  }
  __syncthreads();
  if (busy) {
#pragma unroll
    for (int i = 0; i < COLS; i++)
      sums[j * (TW + 1) + first + i] = make_float4(ar[i], ag[i], ab[i], al[i]);
  }
  __syncthreads();
  for (int k = lid; k < TW * TH; k += WG) {
    const int x = x0 + k % TW, y = y0 + k / TW;
    if (x < w && y < h) dst[y * w + x] = sums[(k / TW) * (TW + 1) + k % TW];
  }
}

// V = 1: `tile`; V = 2: `tile2`. Item q of the vertical phase sums window column q % WIN down
// ROWS rows from block q / WIN.
template <int V, int R, int ROWS, int COLS, int WG, int TW, int TH, int MINB>
__global__ void __launch_bounds__(WG, MINB)
blur(const uint32_t* __restrict__ packed, float4* __restrict__ dst, int w, int h) {
  constexpr int WIN = TW + 2 * R, PITCH = WIN + 1;
  __shared__ float4 sums[TH * PITCH];
  const int x0 = blockIdx.x * TW, y0 = blockIdx.y * TH;
  for (int q = threadIdx.x; q < WIN * (TH / ROWS); q += WG) {
    const int c = q % WIN, b = q / WIN;
    const int x = reflect(x0 + c - R, w);
    const int top = y0 + b * ROWS - R;
    const bool inside = top >= 0 && top + ROWS + 2 * R <= h;
    Column<ROWS> col;
    if (V == 1) {
#pragma unroll
      for (int t = 0; t < ROWS + 2 * R; t++) {
        const int y = inside ? top + t : reflect(top + t, h);
        add_input<R, ROWS, true>(col, packed[y * w + x], t);
      }
    } else if (inside) {
      const uint32_t* column = packed + (size_t)top * w + x;
#pragma unroll
      for (int t = 0; t < ROWS + 2 * R; t++)
        add_input<R, ROWS, false>(col, column[(size_t)t * w], t);
    } else {
#pragma unroll
      for (int t = 0; t < ROWS + 2 * R; t++)
        add_input<R, ROWS, false>(col, packed[(size_t)reflect(top + t, h) * w + x], t);
    }
    const float s = V == 1 ? 1.f : 1.f / 255.f;
#pragma unroll
    for (int j = 0; j < ROWS; j++)
      sums[(b * ROWS + j) * PITCH + c] =
          make_float4(col.r[j] * s, col.g[j] * s, col.b[j] * s, col.a[j] * s);
  }
  finish_tile<R, COLS, WG, TW, TH>(sums, dst, w, h);
}

__global__ void copy_kernel(const float4* __restrict__ src, float4* __restrict__ dst, size_t n) {
  const size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
  if (i < n) dst[i] = src[i];
}

static const int N = 4096, R = 12;  // 4096² pixels, σ = 3
static std::vector<uint32_t> img;   // the test image, RGBA 8-bit words
static std::vector<float> taps;     // row taps, then column taps

// Median and minimum over 200 timed launches, after 50 untimed.
template <typename Launch>
static std::pair<float, float> time_ms(Launch launch) {
  for (int i = 0; i < 50; i++) launch();
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  std::vector<float> ms(200);
  for (float& m : ms) {
    cudaEventRecord(e0);
    launch();
    cudaEventRecord(e1);
    cudaEventSynchronize(e1);
    cudaEventElapsedTime(&m, e0, e1);
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[0]};
}

// Largest difference from a double-precision blur of the test image, at 2,000 pixels, the
// four corners first.
static double worst_difference(const std::vector<float4>& out) {
  double worst = 0;
  for (int s = 0; s < 2000; s++) {
    int x = (s * 7919) % N, y = (s * 104729 + s * s) % N;
    if (s < 4) {
      x = s & 1 ? N - 1 : 0;
      y = s & 2 ? N - 1 : 0;
    }
    double sum[3] = {0, 0, 0};
    for (int dy = -R; dy <= R; dy++) {
      double row[3] = {0, 0, 0};
      for (int dx = -R; dx <= R; dx++) {
        const uint32_t v = img[(size_t)reflect(y + dy, N) * N + reflect(x + dx, N)];
        for (int c = 0; c < 3; c++) row[c] += taps[dx + R] * (((v >> (8 * c)) & 255) / 255.0);
      }
      for (int c = 0; c < 3; c++) sum[c] += taps[2 * R + 1 + dy + R] * row[c];
    }
    const float4 o = out[(size_t)y * N + x];
    const double alpha = (img[(size_t)y * N + x] >> 24) / 255.0;
    worst = std::max({worst, fabs(o.x - sum[0]), fabs(o.y - sum[1]), fabs(o.z - sum[2]),
                      fabs(o.w - alpha)});
  }
  return worst;
}

template <int V, int ROWS, int COLS, int WG, int TW, int TH, int MINB>
static void run(const char* name, const uint32_t* packed, float4* dst) {
  auto kernel = blur<V, R, ROWS, COLS, WG, TW, TH, MINB>;
  const dim3 grid((N + TW - 1) / TW, (N + TH - 1) / TH);
  cudaFuncAttributes attributes;
  cudaFuncGetAttributes(&attributes, kernel);
  int blocks = 0;
  cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, kernel, WG, 0);
  const auto [median, min] = time_ms([&] { kernel<<<grid, WG>>>(packed, dst, N, N); });
  std::vector<float4> out((size_t)N * N);
  cudaMemcpy(out.data(), dst, out.size() * sizeof(float4), cudaMemcpyDeviceToHost);
  printf("%-44s median %.4f ms  min %.4f  regs %d  blocks/SM %d  maxdiff %.2e\n", name, median,
         min, attributes.numRegs, blocks, worst_difference(out));
}

int main() {
  img.assign((size_t)N * N, 0);
  for (size_t i = 0; i < img.size(); i++)
    for (int c = 0; c < 4; c++)
      img[i] |= (uint32_t)(((4 * i + c) * 2654435761u >> 13) & 255) << (8 * c);
  std::vector<double> g(2 * R + 1);  // Gaussian, σ = 3, normalised, the same along both axes
  double total = 0;
  for (int i = -R; i <= R; i++) total += g[i + R] = exp(-0.5 * (i / 3.0) * (i / 3.0));
  taps.resize(2 * (2 * R + 1));
  for (int i = 0; i <= 2 * R; i++) taps[i] = taps[2 * R + 1 + i] = (float)(g[i] / total);
  cudaMemcpyToSymbol(ctaps, taps.data(), taps.size() * sizeof(float));
  uint32_t* packed;
  float4 *dst, *copy;
  cudaMalloc(&packed, img.size() * sizeof(uint32_t));
  cudaMalloc(&dst, img.size() * sizeof(float4));
  cudaMalloc(&copy, img.size() * sizeof(float4));
  cudaMemcpy(packed, img.data(), img.size() * sizeof(uint32_t), cudaMemcpyHostToDevice);
  run<1, 4, 4, 128, 104, 4, 1>("tile  4x4 wg128 104x4 (the WGSL shape)", packed, dst);
  run<1, 4, 4, 128, 104, 4, 8>("tile  4x4 wg128 104x4 minblocks 8", packed, dst);
  run<1, 4, 4, 128, 104, 4, 16>("tile  4x4 wg128 104x4 minblocks 16", packed, dst);
  run<1, 4, 4, 256, 232, 4, 1>("tile  4x4 wg256 232x4", packed, dst);
  run<2, 4, 4, 128, 104, 4, 1>("tile2 4x4 wg128 104x4", packed, dst);
  run<2, 4, 4, 128, 104, 4, 8>("tile2 4x4 wg128 104x4 minblocks 8", packed, dst);
  run<2, 4, 4, 256, 232, 4, 1>("tile2 4x4 wg256 232x4", packed, dst);
  run<1, 8, 8, 128, 104, 8, 1>("tile  8x8 wg128 104x8", packed, dst);
  run<2, 8, 8, 128, 104, 8, 1>("tile2 8x8 wg128 104x8", packed, dst);
  run<1, 8, 8, 128, 104, 8, 8>("tile  8x8 wg128 104x8 minblocks 8", packed, dst);
  run<2, 8, 8, 128, 104, 8, 8>("tile2 8x8 wg128 104x8 minblocks 8", packed, dst);
  const size_t n = img.size();
  const auto [median, min] = time_ms([&] { copy_kernel<<<(n + 255) / 256, 256>>>(dst, copy, n); });
  printf("%-44s median %.4f ms  min %.4f\n", "copy, float32", median, min);
  printf("%s\n", cudaGetErrorString(cudaGetLastError()));
}
