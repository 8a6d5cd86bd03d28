"""WebGPU from Python, through Pyodide's ``js`` module.

This subpackage is the only part of filterlab that touches ``js`` or ``pyodide``, and it is
imported only inside the browser's GPU worker:

* :mod:`.device` owns the adapter and device and survives device loss;
* :mod:`.resources` caches pipelines and pools buffers and bind groups;
* :mod:`.engine` turns a validated chain into compute passes, one submit per run.
"""
