"""The single owner of the WebGPU adapter and device.

Everything else asks :class:`GPUDevice` for the device and never keeps it across runs, so a
lost device is replaced in one place: after ``device.lost`` resolves, the next
:meth:`GPUDevice.acquire` requests a new adapter and device, and the resource caches built on
the old one are dropped through the ``on_reset`` callbacks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import js
from pyodide.ffi import create_once_callable, create_proxy, to_js


class GPUUnavailableError(RuntimeError):
    """WebGPU cannot be used here; the message says why in the user's terms."""


class GPUError(RuntimeError):
    """The GPU rejected work (a validation or out-of-memory error scope fired)."""


def js_object(value: Any) -> Any:
    """Convert a descriptor (dicts, lists, numbers, JS objects) to a plain JS object."""
    return to_js(value, dict_converter=js.Object.fromEntries)


def buffer_usage(*names: str) -> int:
    """The GPUBufferUsage flags called `names`, e.g. ``buffer_usage("STORAGE", "COPY_SRC")``."""
    flags = 0
    for name in names:
        flags |= int(getattr(js.GPUBufferUsage, name))
    return flags


# Limits raised to what the adapter offers, so large images fit in one binding.
_RAISED_LIMITS = ("maxStorageBufferBindingSize", "maxBufferSize", "maxComputeWorkgroupStorageSize",
                  "maxComputeWorkgroupsPerDimension")
_OPTIONAL_FEATURES = ("timestamp-query",)


# A device requested during start-up, before the rest of filterlab is imported (which takes
# longer than creating the device): (adapter, promise of its device), taken once by acquire().
_early = None


async def _adapter():
    """The adapter the GPU worker asked for while Python started (app/workers/gpu.worker.js),
    else a new one; None when there is none."""
    early = js.self.takeAdapter() if hasattr(js.self, "takeAdapter") else None
    if early is not None:
        return await early
    return await js.navigator.gpu.requestAdapter(js_object({"powerPreference": "high-performance"}))


def _wanted(adapter) -> tuple[list[str], dict[str, int]]:
    """What Filter Lab asks of `adapter`: the optional features it has, and the raised
    limits at its values."""
    features = [name for name in _OPTIONAL_FEATURES if adapter.features.has(name)]
    limits = {name: int(getattr(adapter.limits, name)) for name in _RAISED_LIMITS}
    return features, limits


def _request_device(adapter):
    """Request the device Filter Lab uses (:func:`_wanted`); returns the promise."""
    features, limits = _wanted(adapter)
    descriptor = {"requiredFeatures": features, "requiredLimits": limits, "label": "filterlab"}
    return adapter.requestDevice(js_object(descriptor))


async def request_early() -> None:
    """Start creating the device now; the first :meth:`GPUDevice.acquire` takes it. Start-up
    awaits this before the long import of the rest of filterlab, so the browser creates the
    device meanwhile. Does nothing without WebGPU or an adapter (acquire then says why)."""
    global _early
    if _early is not None or getattr(js.navigator, "gpu", None) is None:
        return
    adapter = await _adapter()
    if adapter is not None:
        _early = (adapter, _request_device(adapter))


@dataclass
class AdapterInfo:
    vendor: str = ""
    architecture: str = ""
    description: str = ""
    features: list[str] = field(default_factory=list)
    limits: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "vendor": self.vendor,
            "architecture": self.architecture,
            "description": self.description,
            "features": list(self.features),
            "limits": dict(self.limits),
        }


class GPUDevice:
    """Owns adapter, device and its event handlers; recreates them after a loss.

    Parameters
    ----------
    on_event : callable, optional
        Called with a dict ``{"kind": "device-lost" | "gpu-error", "message": str}`` for events
        the UI should show.
    """

    def __init__(self, on_event: Callable[[dict], None] | None = None):
        self._on_event = on_event or (lambda event: None)
        self._device = None
        self._adapter = None
        self._error_proxy = None
        self._generation = 0
        self._resets: list[Callable[[], None]] = []
        self.info = AdapterInfo()
        self.losses = 0
        self._expected_loss = -1

    # -- lifetime -----------------------------------------------------------------------------

    def lost_since_acquire(self) -> bool:
        """Whether the device handed out last has been lost (the next acquire replaces it)."""
        return self._device is None and self._generation > 0

    def on_reset(self, callback: Callable[[], None]) -> None:
        """Register a callback that drops everything built on the current device."""
        self._resets.append(callback)

    @property
    def features(self) -> set[str]:
        return set(self.info.features)

    @property
    def device(self):
        """The current device, or None before :meth:`acquire` and after a loss."""
        return self._device

    @property
    def limits(self) -> dict[str, int]:
        """The limits the device was created with (the adapter's, for those Filter Lab raises)."""
        return dict(self.info.limits)

    async def acquire(self):
        """Return a live device, requesting a new adapter and device if needed."""
        if self._device is not None:
            return self._device
        gpu = getattr(js.navigator, "gpu", None)
        if gpu is None:
            raise GPUUnavailableError("WebGPU is not available in this browser (navigator.gpu is missing).")
        global _early
        if _early is not None:
            (adapter, requested), _early = _early, None
        else:
            adapter = await _adapter()
            requested = _request_device(adapter) if adapter is not None else None
        if adapter is None:
            raise GPUUnavailableError("WebGPU is present but no GPU adapter was found.")
        device = await requested
        features, limits = _wanted(adapter)
        # GPUAdapter.info arrived in Chrome 127; earlier WebGPU browsers have requestAdapterInfo().
        info = getattr(adapter, "info", None)
        if info is None and hasattr(adapter, "requestAdapterInfo"):
            info = await adapter.requestAdapterInfo()
        info = info or js_object({})
        self.info = AdapterInfo(
            vendor=str(getattr(info, "vendor", "") or ""),
            architecture=str(getattr(info, "architecture", "") or ""),
            description=str(getattr(info, "description", "") or ""),
            features=features,
            limits=limits,
        )
        self._adapter = adapter
        self._device = device
        self._generation += 1
        generation = self._generation
        device.lost.then(create_once_callable(lambda info: self._lost(generation, info)))
        self._error_proxy = create_proxy(self._uncaptured)
        device.addEventListener("uncapturederror", self._error_proxy)
        return device

    def _lost(self, generation: int, info) -> None:
        if generation != self._generation or self._device is None:
            return  # a device we already replaced
        quiet = generation == self._expected_loss
        self.losses += not quiet
        message = str(getattr(info, "message", "") or "no reason given")
        self._forget()
        if not quiet:
            self._on_event({"kind": "device-lost", "message": f"The GPU device was lost ({message}); Filter Lab created a new one."})

    def _uncaptured(self, event) -> None:
        self._on_event({"kind": "gpu-error", "message": f"GPU error: {event.error.message}"})

    def _forget(self) -> None:
        for reset in self._resets:
            reset()
        if self._device is not None and self._error_proxy is not None:
            self._device.removeEventListener("uncapturederror", self._error_proxy)
        if self._error_proxy is not None:
            self._error_proxy.destroy()
        self._error_proxy = None
        self._device = None
        self._adapter = None
        self._generation += 1

    def expect_loss(self, expected: bool = True) -> None:
        """Whether a loss of the current device goes unreported (around a probe that may break it)."""
        self._expected_loss = self._generation if expected else -1

    def replace(self) -> None:
        """Destroy the device without reporting a loss; the next acquire makes a new one."""
        if self._device is not None:
            device = self._device
            self._forget()
            device.destroy()

    def destroy(self) -> None:
        """Destroy the device as a loss would; the next :meth:`acquire` makes a new one."""
        if self._device is not None:
            self._device.destroy()

    # -- error scopes -------------------------------------------------------------------------

    def push_scopes(self) -> None:
        self._device.pushErrorScope("out-of-memory")
        self._device.pushErrorScope("validation")

    def pop_scopes(self, what: str):
        """Pop the scopes pushed by :meth:`push_scopes`, at once; return an awaitable that
        raises :class:`GPUError` if one fired. Both answers come back in one round trip, and
        the caller may await them later (after handing a frame on) without another run's
        scopes getting in between."""
        validation = self._device.popErrorScope()
        memory = self._device.popErrorScope()
        return _scope_errors(validation, memory, what)


async def _scope_errors(validation, memory, what: str) -> None:
    """Raise :class:`GPUError` for the first error of two popped scopes that fired."""
    validation = await validation
    memory = await memory
    if memory is not None:
        raise GPUError(f"The GPU ran out of memory while {what}.")
    if validation is not None:
        raise GPUError(f"The GPU rejected {what}: {validation.message}")
