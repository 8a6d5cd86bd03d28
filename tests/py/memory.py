"""Memory measured the way the tests need it: tracemalloc sees NumPy's arrays and Python's
objects (not Pillow's own buffers), so a whole-image temporary shows up in the peak."""

import tracemalloc


def peak_bytes(function, *args):
    """Peak bytes that NumPy and Python allocate while ``function(*args)`` runs."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        function(*args)
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
