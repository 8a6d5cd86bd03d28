"""Command line: apply a chain to an image, or list the operations.

Usage::

    python -m filterlab apply --chain chain.json [--bits 8|16] IN OUT
    python -m filterlab ops [--json]

``IN`` is any supported image; ``OUT`` is written as PNG. Problems with the input (a
missing file, a bad chain, a corrupt image) are reported as one line on standard error,
with exit status 2.

The C libraries behind Pillow (libtiff above all, also libpng and libjpeg) write their own
diagnostics straight to the process's standard error (file descriptor 2), and Pillow
issues Python warnings about damaged metadata. While an image is decoded both are held
back (:func:`_held_stderr`): after a clean result or a clean refusal they are dropped, so
the refusal stays one line; if decoding fails in an unexpected way they are written out
before the error, so nothing that explains a real failure is lost.
"""

import argparse
import contextlib
import faulthandler
import json
import os
import sys
import tempfile
import warnings

from . import catalog, chain, imageio, kernels

__all__ = ["main"]

EXIT_OK = 0
EXIT_USAGE = 2


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    """An argument parser that reports errors as one line, without printing usage."""

    def error(self, message):
        raise _UsageError(message)


def _parser():
    parser = _Parser(
        prog="python -m filterlab",
        description="Filter Lab command line: run filter chains with the NumPy reference.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    apply = commands.add_parser("apply", help="apply a filter chain to an image")
    apply.add_argument("--chain", required=True, metavar="CHAIN.json", help="chain file (JSON)")
    apply.add_argument("--bits", type=int, choices=(8, 16), default=8, help="PNG bit depth")
    apply.add_argument("input", metavar="IN", help="input image")
    apply.add_argument("output", metavar="OUT", help="output PNG")
    ops = commands.add_parser("ops", help="list the operations and their parameters")
    ops.add_argument("--json", action="store_true", help="print the catalog as JSON")
    return parser


def _read(path, what):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise _UsageError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise _UsageError(f"{what} is a directory: {path}") from None
    except OSError as exc:
        raise _UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def _apply(args):
    chain_bytes = _read(args.chain, "chain file")
    try:
        steps = chain.validate(chain_bytes)
    except chain.ChainError as exc:
        raise _UsageError(f"{args.chain}: {exc}") from None
    data = _read(args.input, "input image")
    try:
        with _held_stderr():
            decoded = imageio.decode(data)
    except imageio.ImageDecodeError as exc:
        raise _UsageError(f"{args.input}: {exc}") from None
    result = chain.apply(decoded.array, steps)
    png = imageio.encode_png(result, bits=args.bits)
    try:
        with open(args.output, "wb") as handle:
            handle.write(png)
    except OSError as exc:
        raise _UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def _held_stderr():
    """Hold back what is written to file descriptor 2 and what Python warns, for the block.

    Dropped when the block ends normally or with :class:`filterlab.imageio.ImageDecodeError`
    (a refusal with its own message); written to standard error (the libraries' output, then
    the warnings) when it ends with any other exception. A crash inside the block is still
    reported on the real standard error, through :mod:`faulthandler`.
    """
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no standard error at all: nothing to hold back
        yield
        return
    sink = tempfile.TemporaryFile()
    own_faulthandler = not faulthandler.is_enabled()
    if own_faulthandler:
        faulthandler.enable(file=saved)
    os.dup2(sink.fileno(), 2)
    failed = False
    caught = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    except imageio.ImageDecodeError:
        raise
    except BaseException:
        failed = True
        raise
    finally:
        if sys.stderr is not None:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
        os.dup2(saved, 2)
        if own_faulthandler:
            faulthandler.disable()
        os.close(saved)
        if failed:
            sink.seek(0)
            held = sink.read().decode("utf-8", "replace")
            held += "".join(warnings.formatwarning(w.message, w.category, w.filename, w.lineno)
                            for w in caught)
            if held:
                print(held, end="" if held.endswith("\n") else "\n", file=sys.stderr)
        sink.close()


def _format_param(param):
    if param.kind == "choice":
        values = "|".join(str(c) for c in param.choices)
        detail = f"one of {values}"
    elif param.kind == "kernel":
        detail = (
            f"square kernel, odd size 1..{kernels.MAX_SIZE}, "
            f"values within ±{kernels.MAX_VALUE:,.0f}"
        )
    else:
        detail = f"{param.kind} {param.min:g}..{param.max:g}"
        if param.step is not None:
            detail += f" step {param.step:g}"
        if param.unit:
            detail += f" {param.unit}"
    default = "3×3 identity" if param.kind == "kernel" else param.default
    return f"    {param.name:<10} {detail} (default {default})"


def _ops(args, out):
    if args.json:
        print(json.dumps(catalog.describe(), indent=2, ensure_ascii=False), file=out)
        return
    for op in catalog.OPS.values():
        print(f"{op.name}: {op.label}. {op.summary}", file=out)
        for param in op.params:
            print(_format_param(param), file=out)
    print(f"kernel presets: {', '.join(catalog.KERNEL_PRESETS)}", file=out)


def main(argv=None):
    """Run the command line with `argv` (default ``sys.argv[1:]``); return the exit status.

    Examples
    --------
    >>> main(["ops", "--bad"])
    2
    """
    try:
        args = _parser().parse_args(argv)
        if args.command == "apply":
            _apply(args)
        else:
            _ops(args, sys.stdout)
    except _UsageError as exc:
        print(f"filterlab: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help and --version exit through argparse
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except BrokenPipeError:  # e.g. `python -m filterlab ops | head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("filterlab: interrupted", file=sys.stderr)
        return 130
    return EXIT_OK
