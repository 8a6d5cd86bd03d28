"""Showing GPU results: on the worker's WebGPU canvas, or by an 8-bit readback.

The GPU worker owns an OffscreenCanvas. Where the browser can present a WebGPU canvas, the
chain's last buffer is drawn on it by a render pass in the same submit (``present.wgsl``),
and the frame leaves the worker as an ImageBitmap: no pixel readback. Some browsers cannot
present a WebGPU canvas (software adapters such as SwiftShader lose the device when they
try), so :meth:`Presenter.attach` tries once with a cleared frame; where that fails, results
are shown through the ``display`` pass, 8-bit RGBA read back (``mode == "readback"``).
"""

from __future__ import annotations

import js
from pyodide.ffi import JsException, to_js

from ..display import IDENTITY, uniforms as stretch_uniforms
from . import shaders
from .device import GPUDevice, buffer_usage, js_object


class Presenter:
    """The canvas the GPU worker draws results on, and how it gets them there.

    Attributes
    ----------
    mode : {"none", "canvas", "readback"}
        How results are shown: not at all (no canvas), drawn on the canvas, or read back.
    note : str
        Why the canvas is not used, when it is not.
    """

    def __init__(self, gpu: GPUDevice):
        self._gpu = gpu
        self._canvas = None
        self._context = None
        self._configured_for = None
        self.mode = "none"
        self.note = ""
        gpu.on_reset(self._forget)

    def _forget(self) -> None:
        self._configured_for = None

    async def attach(self, canvas) -> str:
        """Present on this OffscreenCanvas from now on; return the mode."""
        self._canvas = canvas
        self._context = canvas.getContext("webgpu") if canvas is not None else None
        self._configured_for = None
        self.mode = "readback"
        if self._context is None:
            self.note = "no canvas context"
            return self.mode
        device = await self._gpu.acquire()
        self._gpu.expect_loss()
        try:
            self._configure(device)
            encoder = device.createCommandEncoder()
            render = encoder.beginRenderPass(js_object({"colorAttachments": [{
                "view": self._context.getCurrentTexture().createView(),
                "loadOp": "clear", "storeOp": "store", "clearValue": {"r": 0, "g": 0, "b": 0, "a": 0}}]}))
            render.end()
            device.queue.submit(to_js([encoder.finish()]))
            await device.queue.onSubmittedWorkDone()
            self.mode = "canvas"
            self._gpu.expect_loss(False)
        except JsException as exc:
            self._gpu.replace()
            self.note = f"presenting a WebGPU canvas failed here ({exc})"
            self._context.unconfigure()
            self._context = None
        return self.mode

    def _configure(self, device) -> None:
        if self._configured_for is not device:
            self._context.configure(js_object({
                "device": device,
                "format": js.navigator.gpu.getPreferredCanvasFormat(),
                "alphaMode": "premultiplied",
            }))
            self._configured_for = device

    def encode(self, device, encoder, resources, src: str, width: int, height: int,
               stretch: tuple = IDENTITY) -> None:
        """Draw the working buffer ``src`` (a pooled buffer) on the canvas, in `encoder`, its
        colour stretched for display by `stretch` (:func:`filterlab.display.uniforms`)."""
        fmt = js.navigator.gpu.getPreferredCanvasFormat()
        self._configure(device)
        if self._canvas.width != width or self._canvas.height != height:
            self._canvas.width = width
            self._canvas.height = height
        info = shaders.info("present")
        pipeline = resources.render_pipeline("present", fmt)
        uniforms = resources.buffer("present_params", 256, buffer_usage("UNIFORM", "COPY_DST"))
        values = {"width": width, "height": height, **stretch_uniforms(stretch)}
        device.queue.writeBuffer(uniforms, 0, to_js(info.pack(values)))
        group = resources.bind_group(("present", fmt), pipeline, [
            (info.bindings["params"], "present_params"), (info.bindings["src"], src)])
        target = self._context.getCurrentTexture().createView()
        render = encoder.beginRenderPass(js_object({
            "colorAttachments": [{"view": target, "loadOp": "clear", "storeOp": "store",
                                  "clearValue": {"r": 0, "g": 0, "b": 0, "a": 0}}],
        }))
        render.setPipeline(pipeline)
        render.setBindGroup(0, group)
        render.draw(3)
        render.end()

    def frame(self):
        """The frame last drawn on the canvas, as an ImageBitmap for the page."""
        return self._canvas.transferToImageBitmap()
