"""Filter Lab: image filters on the GPU, checked against a NumPy reference.

The pure-Python core runs the same under CPython and Pyodide:

- :mod:`filterlab.imageio`: decoding and encoding rules (float32 H×W×C in [0, 1]);
- :mod:`filterlab.kernels`: kernel builders and separability;
- :mod:`filterlab.borders`: the border index rule shared with the shaders;
- :mod:`filterlab.reference`: the NumPy reference filters;
- :mod:`filterlab.catalog`: every operation and its parameters;
- :mod:`filterlab.chain`: chain validation and serialisation;
- :mod:`filterlab.compare`: error metrics and heatmaps.

The planning half of :mod:`filterlab.gpu` (``gpu.plan``, ``gpu.shaders``) is pure Python too;
the rest of :mod:`filterlab.gpu` and :mod:`filterlab.worker_api` need a browser and are not
imported here.
"""

__version__ = "0.1.0"
