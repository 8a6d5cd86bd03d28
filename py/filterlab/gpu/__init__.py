"""WebGPU from Python, through Pyodide's ``js`` module.

Two modules are pure Python and run under CPython too, where the tests check them:

* :mod:`.shaders`: the shader manifest, and uniform layouts, bindings, enumeration codes and
  workgroup memory read from the WGSL files;
* :mod:`.plan`: one plan function per catalog operation; chains, buffers, bands and halos.

The runtime half touches ``js`` and ``pyodide`` and runs only in the browser's GPU worker:

* :mod:`.device` owns the adapter and device and survives device loss;
* :mod:`.resources` caches pipelines and pools buffers and bind groups;
* :mod:`.present` draws results on the worker's canvas;
* :mod:`.engine` allocates, encodes, submits and collects one run.
"""
