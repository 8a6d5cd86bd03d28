// Peer: TensorFlow.js on its WebGPU backend, the Gaussian as two depthwiseConv2d calls
// (a 1×K then a K×1 kernel, one per channel) with padding "same", which pads with zeros.
import { STEPS_SUSTAINED } from "./common.js";

export async function tfjsWebgpu({ width, height, f32 }, weights) {
  const tf = await import("@tensorflow/tfjs-core");
  await import("@tensorflow/tfjs-backend-webgpu");
  tf.env().set("WEBGPU_CPU_FORWARD", false); // every op on the GPU, whatever its size
  if (!(await tf.setBackend("webgpu"))) throw new Error("tfjs-webgpu: the WebGPU backend did not start");
  await tf.ready();
  const backend = tf.backend();
  const timestamps = Boolean(backend.supportTimestampQuery);
  const k = weights.length;
  const taps = new Float32Array(k * 4).map((_, i) => weights[Math.floor(i / 4)]); // [k][channel]
  const rowKernel = tf.tensor4d(taps, [1, k, 4, 1]);
  const colKernel = tf.tensor4d(taps, [k, 1, 4, 1]);
  const x = tf.tensor4d(f32, [1, height, width, 4]);
  const blur = (t) => tf.depthwiseConv2d(tf.depthwiseConv2d(t, rowKernel, 1, "same"), colKernel, 1, "same");
  const blurSteps = (steps) => tf.tidy(() => {
    let t = x;
    for (let i = 0; i < steps; i++) t = blur(t);
    return t;
  });
  const first = blurSteps(1); // compiles the programs
  await first.data();
  first.dispose();

  /**
   * GPU time of `steps` blurs: tf.time's kernelMs (timestamp queries around each program),
   * or, without timestamp queries, the wall clock from dispatch to the queue's completion.
   */
  const timeSteps = async (steps) => {
    if (timestamps) {
      let out;
      const info = await tf.time(() => {
        out = blurSteps(steps);
      });
      out.dispose();
      return { ms: info.kernelMs, clock: "timestamp" };
    }
    const t0 = performance.now();
    const out = blurSteps(steps);
    backend.submitQueue();
    await backend.device.queue.onSubmittedWorkDone();
    const ms = performance.now() - t0;
    out.dispose();
    return { ms, clock: "wall" };
  };

  const info = backend.adapterInfo;
  return {
    name: "tfjs-webgpu",
    label: `TensorFlow.js ${tf.version_core} WebGPU, depthwiseConv2d 1×${k} then ${k}×1`,
    kind: "gpu",
    border: "zeros (padding \"same\"): a border of radius pixels is left out of the comparison",
    excludeBorder: (k - 1) / 2,
    input: "float32 tensor [1, H, W, 4], uploaded once",
    adapter: info ? { vendor: info.vendor, architecture: info.architecture } : null,
    gpu: () => timeSteps(1),
    sustained: async () => {
      const { ms, clock } = await timeSteps(STEPS_SUSTAINED);
      return { ms: ms / STEPS_SUSTAINED, clock, steps: STEPS_SUSTAINED };
    },
    /** One blur, then the result read back with data(). */
    wall: async () => {
      const out = blurSteps(1);
      const data = await out.data();
      out.dispose();
      return data;
    },
    dispose: () => tf.dispose([x, rowKernel, colKernel]),
  };
}
