// Peer: a naive two-pass Gaussian in WGSL (naive-gaussian.wgsl) on its own WebGPU device.
// Input and output are float32 RGBA storage buffers; the input is uploaded once.
import { STEPS_SUSTAINED } from "./common.js";
import SHADER from "./naive-gaussian.wgsl?raw";

const WG_X = 16;
const WG_Y = 16;

export async function naiveWgsl({ width, height, f32 }, weights) {
  const adapter = await navigator.gpu?.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) throw new Error("naive-wgsl: no WebGPU adapter");
  const timestamps = adapter.features.has("timestamp-query");
  const bytes = width * height * 16;
  const device = await adapter.requestDevice({
    requiredFeatures: timestamps ? ["timestamp-query"] : [],
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  const radius = (weights.length - 1) / 2;
  const module = device.createShaderModule({ code: SHADER });
  const pipelines = [0, 1].map((axis) => device.createComputePipeline({
    layout: "auto",
    compute: { module, entryPoint: "main", constants: { WG_X, WG_Y, RADIUS: radius, AXIS: axis } },
  }));
  const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const params = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(params, 0, new Uint32Array([width, height, 0, 0]));
  const taps = device.createBuffer({ size: Math.max(16, weights.length * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(taps, 0, Float32Array.from(weights));
  // Three image buffers: the input stays untouched; passes go input → a → b, then b → a → b
  // for each further step of a sustained run.
  const [input, a, b] = [0, 1, 2].map(() => device.createBuffer({ size: bytes, usage: storage }));
  device.queue.writeBuffer(input, 0, f32);
  const staging = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const bind = (axis, src, dst) => device.createBindGroup({
    layout: pipelines[axis].getBindGroupLayout(0),
    entries: [params, taps, src, dst].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const groups = { first: [bind(0, input, a), bind(1, a, b)], next: [bind(0, b, a), bind(1, a, b)] };
  const querySet = timestamps ? device.createQuerySet({ type: "timestamp", count: 2 }) : null;
  const resolve = timestamps ? device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }) : null;
  const stamps = timestamps ? device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }) : null;
  const dispatch = [Math.ceil(width / WG_X), Math.ceil(height / WG_Y)];
  await device.queue.onSubmittedWorkDone();

  /** Encode `steps` blurs (two passes each) ending in `b`; timestamps around all of them. */
  const encode = (steps, timed) => {
    const encoder = device.createCommandEncoder();
    const passes = steps * 2;
    for (let p = 0; p < passes; p++) {
      const timestampWrites = timed && querySet && (p === 0 || p === passes - 1)
        ? { querySet, ...(p === 0 ? { beginningOfPassWriteIndex: 0 } : {}), ...(p === passes - 1 ? { endOfPassWriteIndex: 1 } : {}) }
        : undefined;
      const pass = encoder.beginComputePass(timestampWrites ? { timestampWrites } : {});
      pass.setPipeline(pipelines[p % 2]);
      pass.setBindGroup(0, (p < 2 ? groups.first : groups.next)[p % 2]);
      pass.dispatchWorkgroups(...dispatch);
      pass.end();
    }
    if (timed && querySet) {
      encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
      encoder.copyBufferToBuffer(resolve, 0, stamps, 0, 16);
    }
    return encoder;
  };

  /** GPU time of `steps` blurs in one submit: timestamps, or the wall clock to completion. */
  const timeSteps = async (steps) => {
    const t0 = performance.now();
    device.queue.submit([encode(steps, true).finish()]);
    if (!querySet) {
      await device.queue.onSubmittedWorkDone();
      return { ms: performance.now() - t0, clock: "wall" };
    }
    await stamps.mapAsync(GPUMapMode.READ);
    const [begin, end] = new BigInt64Array(stamps.getMappedRange());
    stamps.unmap();
    return { ms: Number(end - begin) / 1e6, clock: "timestamp" };
  };

  return {
    name: "naive-wgsl",
    label: "naive two-pass WGSL (f32, global memory, no tiling)",
    kind: "gpu",
    border: "reflect (scipy.ndimage), the same as the reference",
    excludeBorder: 0,
    input: "float32 RGBA, uploaded once",
    adapter: adapter.info ? { vendor: adapter.info.vendor, architecture: adapter.info.architecture, device: adapter.info.device, description: adapter.info.description } : null,
    gpu: () => timeSteps(1),
    sustained: async () => {
      const { ms, clock } = await timeSteps(STEPS_SUSTAINED);
      return { ms: ms / STEPS_SUSTAINED, clock, steps: STEPS_SUSTAINED };
    },
    /** One blur, then the result read back into a Float32Array. */
    wall: async () => {
      const encoder = encode(1, false);
      encoder.copyBufferToBuffer(b, 0, staging, 0, bytes);
      device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const out = new Float32Array(staging.getMappedRange().slice(0));
      staging.unmap();
      return out;
    },
    dispose: () => device.destroy(),
  };
}
