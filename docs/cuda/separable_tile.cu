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
// Every form has the WGSL kernel's tiles, phases and register blocks (`Form` says how they
// differ). The WGSL kernel sums four lanes (vec4) where these sum the three colour lanes; its
// driver drops the unused lane (a vec3 form of the WGSL kernel timed the same).
//
// Each line of output gives a kernel's median and minimum time a launch (20 batches of 10
// launches back to back, after 50 untimed), its registers, how many of its blocks fit a
// multiprocessor, and its largest difference from a double-precision blur at 2,000 pixels, the
// corners among them. The check runs with other column taps than the timing (σ = 2 instead of
// 3), so that row and column taps swapped would show, into an output filled with NaN first.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>
#include <cuda_runtime.h>

#define CHECK(call)                                                                  \
  do {                                                                               \
    const cudaError_t e = (call);                                                    \
    if (e != cudaSuccess) {                                                          \
      fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, cudaGetErrorString(e));     \
      exit(1);                                                                       \
    }                                                                                \
  } while (0)

// How the vertical phase reads a column of words and turns bytes into floats.
enum class Form {
  wgsl,    // as the WGSL kernel: rows inside the image on their own path, x / 255 per sample
  select,  // one loop for all rows, each picking the border rule or not (a select per row)
  lean,    // `wgsl` with bytes by the exponent trick and 1/255 applied once to the sums
};

__constant__ float ctaps[2 * (2 * 32 + 1)];  // row taps, then column taps

__host__ __device__ __forceinline__ int reflect(int i, int n) {
  if (i >= 0 && i < n) return i;
  const int period = 2 * n;
  int m = i % period;
  if (m < 0) m += period;
  return m >= n ? period - 1 - m : m;
}

// Lane `lane` of an RGBA 8-bit word as x / 255, or as x exactly: the byte in the mantissa of
// 2^23, less 2^23.
__device__ __forceinline__ float unorm(uint32_t v, int lane) {
  return ((v >> (8 * lane)) & 255u) * (1.f / 255.f);
}
__device__ __forceinline__ float byte_value(uint32_t v, int lane) {
  return __uint_as_float(((v >> (8 * lane)) & 255u) | 0x4b000000u) - 8388608.f;
}

// Pixels a row of the window in workgroup (shared) memory: the tile, r columns each side, and
// one more so that neighbouring rows start in different banks.
template <int R, int TW>
__host__ __device__ constexpr int pitch() { return TW + 2 * R + 1; }

// Running sums of one item of the vertical phase: ROWS outputs down a column.
template <int ROWS>
struct Column {
  float r[ROWS] = {}, g[ROWS] = {}, b[ROWS] = {}, a[ROWS] = {};
};

// Input t of the item's ROWS + 2R, added to each sum it reaches with the column taps, and kept
// as the alpha of the output in its own row. `scaled`: as x / 255 here, else as x.
template <int R, int ROWS, bool scaled>
__device__ __forceinline__ void add_input(Column<ROWS>& col, uint32_t v, int t) {
  const float pr = scaled ? unorm(v, 0) : byte_value(v, 0);
  const float pg = scaled ? unorm(v, 1) : byte_value(v, 1);
  const float pb = scaled ? unorm(v, 2) : byte_value(v, 2);
#pragma unroll
  for (int j = 0; j < ROWS; j++) {
    if (t >= j && t - j <= 2 * R) {
      const float weight = ctaps[2 * R + 1 + t - j];
      col.r[j] += weight * pr;
      col.g[j] += weight * pg;
      col.b[j] += weight * pb;
    }
  }
  if (t >= R && t - R < ROWS) col.a[t - R] = scaled ? unorm(v, 3) : byte_value(v, 3);
}

// Phases 2 and 3 of the WGSL kernel, once the window's vertical sums are in `sums`: the row
// taps along COLS outputs an invocation, then the outputs parked in `sums` and stored row by
// row.
template <int R, int COLS, int WG, int TW, int TH>
__device__ __forceinline__ void finish_tile(float4* sums, float4* __restrict__ dst, int w, int h) {
  constexpr int PITCH = pitch<R, TW>();
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
          const float weight = ctaps[t - i];
          ar[i] += weight * p.x;
          ag[i] += weight * p.y;
          ab[i] += weight * p.z;
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
    if (x < w && y < h) dst[(size_t)y * w + x] = sums[(k / TW) * (TW + 1) + k % TW];
  }
}

// Item q of the vertical phase sums window column q % WIN down ROWS rows from block q / WIN.
template <Form F, int R, int ROWS, int COLS, int WG, int TW, int TH, int MINB>
__global__ void __launch_bounds__(WG, MINB)
blur(const uint32_t* __restrict__ packed, float4* __restrict__ dst, int w, int h) {
  constexpr int WIN = TW + 2 * R;
  constexpr bool scaled = F != Form::lean;
  __shared__ float4 sums[TH * pitch<R, TW>()];
  const int x0 = blockIdx.x * TW, y0 = blockIdx.y * TH;
  for (int q = threadIdx.x; q < WIN * (TH / ROWS); q += WG) {
    const int c = q % WIN, b = q / WIN;
    const int x = reflect(x0 + c - R, w);
    const int top = y0 + b * ROWS - R;
    const bool inside = top >= 0 && top + ROWS + 2 * R <= h;
    Column<ROWS> col;
    if constexpr (F == Form::select) {
#pragma unroll
      for (int t = 0; t < ROWS + 2 * R; t++) {
        const int y = inside ? top + t : reflect(top + t, h);
        add_input<R, ROWS, scaled>(col, packed[(size_t)y * w + x], t);
      }
    } else if (inside) {
      const uint32_t* column = packed + (size_t)top * w + x;
#pragma unroll
      for (int t = 0; t < ROWS + 2 * R; t++)
        add_input<R, ROWS, scaled>(col, column[(size_t)t * w], t);
    } else {
#pragma unroll
      for (int t = 0; t < ROWS + 2 * R; t++)
        add_input<R, ROWS, scaled>(col, packed[(size_t)reflect(top + t, h) * w + x], t);
    }
    const float s = scaled ? 1.f : 1.f / 255.f;
#pragma unroll
    for (int j = 0; j < ROWS; j++)
      sums[(b * ROWS + j) * pitch<R, TW>() + c] =
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
static std::vector<float> taps;     // as in ctaps

// Normalised Gaussian taps of radius R along each axis.
static void set_taps(double row_sigma, double column_sigma) {
  taps.resize(2 * (2 * R + 1));
  const double sigmas[2] = {row_sigma, column_sigma};
  for (int axis = 0; axis < 2; axis++) {
    std::vector<double> g(2 * R + 1);
    double total = 0;
    for (int i = -R; i <= R; i++) {
      g[i + R] = exp(-0.5 * (i / sigmas[axis]) * (i / sigmas[axis]));
      total += g[i + R];
    }
    for (int i = 0; i <= 2 * R; i++) taps[axis * (2 * R + 1) + i] = (float)(g[i] / total);
  }
  CHECK(cudaMemcpyToSymbol(ctaps, taps.data(), taps.size() * sizeof(float)));
}

// Median and minimum time a launch: 20 batches of 10 launches back to back, after 50 untimed.
template <typename Launch>
static std::pair<float, float> time_ms(Launch launch) {
  for (int i = 0; i < 50; i++) launch();
  CHECK(cudaGetLastError());
  cudaEvent_t e0, e1;
  CHECK(cudaEventCreate(&e0));
  CHECK(cudaEventCreate(&e1));
  std::vector<float> ms(20);
  for (float& m : ms) {
    CHECK(cudaEventRecord(e0));
    for (int i = 0; i < 10; i++) launch();
    CHECK(cudaEventRecord(e1));
    CHECK(cudaEventSynchronize(e1));
    CHECK(cudaGetLastError());
    CHECK(cudaEventElapsedTime(&m, e0, e1));
    m /= 10;
  }
  CHECK(cudaEventDestroy(e0));
  CHECK(cudaEventDestroy(e1));
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[0]};
}

// Largest difference from a double-precision blur of the test image with `taps`, at 2,000
// pixels, the four corners first. NaN if any compared value is NaN.
static double worst_difference(const std::vector<float4>& out) {
  double worst = 0;
  auto note = [&](double d) {
    if (!(d <= worst)) worst = d;
  };
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
    note(fabs(o.x - sum[0]));
    note(fabs(o.y - sum[1]));
    note(fabs(o.z - sum[2]));
    note(fabs(o.w - (img[(size_t)y * N + x] >> 24) / 255.0));
  }
  return worst;
}

static const char* form_name(Form f) {
  return f == Form::wgsl ? "wgsl" : f == Form::select ? "select" : "lean";
}

// MINB: the blocks a multiprocessor that the register limit aims at (1: no limit).
template <Form F, int ROWS, int COLS, int WG, int TW, int TH, int MINB>
static void run(const uint32_t* packed, float4* dst) {
  auto kernel = blur<F, R, ROWS, COLS, WG, TW, TH, MINB>;
  const dim3 grid((N + TW - 1) / TW, (N + TH - 1) / TH);
  cudaFuncAttributes attributes;
  CHECK(cudaFuncGetAttributes(&attributes, kernel));
  int blocks = 0;
  CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, kernel, WG, 0));
  auto launch = [&] { kernel<<<grid, WG>>>(packed, dst, N, N); };
  set_taps(3, 3);
  const auto [median, min] = time_ms(launch);
  set_taps(3, 2);
  CHECK(cudaMemset(dst, 0xff, (size_t)N * N * sizeof(float4)));
  launch();
  CHECK(cudaGetLastError());
  std::vector<float4> out((size_t)N * N);
  CHECK(cudaMemcpy(out.data(), dst, out.size() * sizeof(float4), cudaMemcpyDeviceToHost));
  char name[64];
  snprintf(name, sizeof name, "%-6s %dx%d wg%d %dx%d", form_name(F), ROWS, COLS, WG, TW, TH);
  if (MINB > 1) snprintf(name + strlen(name), sizeof name - strlen(name), " minblocks %d", MINB);
  printf("%-36s median %.4f ms  min %.4f  regs %d  blocks/SM %d  maxdiff %.2e\n", name, median,
         min, attributes.numRegs, blocks, worst_difference(out));
}

int main() {
  img.assign((size_t)N * N, 0);
  for (size_t i = 0; i < img.size(); i++)
    for (int c = 0; c < 4; c++)
      img[i] |= (uint32_t)(((4 * i + c) * 2654435761u >> 13) & 255) << (8 * c);
  uint32_t* packed;
  float4 *dst, *copy;
  CHECK(cudaMalloc(&packed, img.size() * sizeof(uint32_t)));
  CHECK(cudaMalloc(&dst, img.size() * sizeof(float4)));
  CHECK(cudaMalloc(&copy, img.size() * sizeof(float4)));
  CHECK(cudaMemcpy(packed, img.data(), img.size() * sizeof(uint32_t), cudaMemcpyHostToDevice));
  // Form, ROWS, COLS, invocations, TILE_W, TILE_H, MINB
  run<Form::wgsl, 4, 4, 128, 104, 4, 1>(packed, dst);
  run<Form::wgsl, 4, 4, 128, 104, 4, 8>(packed, dst);
  run<Form::wgsl, 4, 4, 128, 104, 4, 16>(packed, dst);
  run<Form::wgsl, 4, 4, 256, 232, 4, 1>(packed, dst);
  run<Form::select, 4, 4, 128, 104, 4, 1>(packed, dst);
  run<Form::lean, 4, 4, 128, 104, 4, 1>(packed, dst);
  run<Form::lean, 4, 4, 128, 104, 4, 8>(packed, dst);
  run<Form::lean, 4, 4, 256, 232, 4, 1>(packed, dst);
  run<Form::wgsl, 8, 8, 128, 104, 8, 1>(packed, dst);
  run<Form::select, 8, 8, 128, 104, 8, 1>(packed, dst);
  run<Form::lean, 8, 8, 128, 104, 8, 1>(packed, dst);
  run<Form::wgsl, 8, 8, 128, 104, 8, 8>(packed, dst);
  run<Form::lean, 8, 8, 128, 104, 8, 8>(packed, dst);
  const size_t n = img.size();
  const auto [median, min] = time_ms([&] { copy_kernel<<<(n + 255) / 256, 256>>>(dst, copy, n); });
  printf("%-36s median %.4f ms  min %.4f\n", "copy, float32", median, min);
}
