"""Artifacts made from Python objects: text, dicts, figures and images, written to a file.

The client (``modelpack._client._tracking``) stages each object as a file in a temporary
folder with :func:`staged`, then hands the file to the store like any other artifact, so every
store backend gets plain files. Optional libraries are imported only when the object is one of
theirs: matplotlib or plotly for a figure, PIL for an image (a numpy array becomes a PNG with
the standard library alone).
"""

from __future__ import annotations

import json
import struct
import tempfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from modelpack._store import artifact_parts
from modelpack.exceptions import MissingDependencyError, StoreError

__all__ = [
    "dict_text",
    "load_pil",
    "save_figure",
    "save_image",
    "split_runs_uri",
    "staged",
]


@contextmanager
def staged(artifact_file: str) -> Iterator[tuple[Path, str | None]]:
    """A temporary file named like ``artifact_file``, and the artifact folder it belongs in."""
    parts = artifact_parts(artifact_file, what="artifact file")
    if not parts:
        raise StoreError(
            f"invalid artifact file {artifact_file!r}: name a file inside the run, "
            "such as 'notes/summary.txt'"
        )
    with tempfile.TemporaryDirectory(prefix="modelpack-artifact-") as tmp:
        yield Path(tmp) / parts[-1], "/".join(parts[:-1]) or None


def dict_text(dictionary: Mapping[str, Any], artifact_file: str) -> str:
    """YAML for a ``.yaml``/``.yml`` file, JSON (indented) for anything else."""
    if artifact_file.lower().endswith((".yaml", ".yml")):
        import yaml

        return str(yaml.safe_dump(dict(dictionary), default_flow_style=False, sort_keys=False))
    return json.dumps(dictionary, indent=2)


def _module_of(obj: Any) -> str:
    return type(obj).__module__.partition(".")[0]


def save_figure(figure: Any, path: Path, save_kwargs: Mapping[str, Any] | None) -> None:
    """Write a matplotlib or plotly figure to ``path`` (the format follows the suffix)."""
    kwargs = dict(save_kwargs or {})
    library = _module_of(figure)
    if library == "matplotlib" and hasattr(figure, "savefig"):
        figure.savefig(path, **kwargs)
    elif library == "plotly" and hasattr(figure, "write_html"):
        if path.suffix.lower() == ".html":
            figure.write_html(str(path), **kwargs)
        else:  # png, svg, ... need plotly's image export (kaleido)
            figure.write_image(str(path), **kwargs)
    else:
        raise TypeError(
            f"log_figure takes a matplotlib or plotly figure, got {type(figure).__name__}; "
            "save other objects to a file and use log_artifact"
        )


def save_image(image: Any, path: Path) -> None:
    """Write a numpy array or a PIL image to ``path``.

    An array is ``(H, W)`` grayscale or ``(H, W, 1|3|4)`` channels, with integers in 0-255
    or floats in 0-1. It becomes a PNG without PIL; other formats need PIL.
    """
    if _module_of(image) == "PIL":
        image.save(path)
        return
    if _module_of(image) != "numpy" or not hasattr(image, "ndim"):
        raise TypeError(f"log_image takes a numpy array or a PIL image, got {type(image).__name__}")
    pixels = _as_uint8(image)
    if path.suffix.lower() == ".png":
        path.write_bytes(_png(pixels))
        return
    pil = load_pil(f"writing an image array as {path.suffix or 'a file without a suffix'}")
    pil.fromarray(pixels.squeeze(axis=2) if pixels.shape[2] == 1 else pixels).save(path)


def load_pil(purpose: str) -> Any:
    """PIL's Image module; its distribution is named pillow, which require() cannot say."""
    try:
        from PIL import Image
    except ImportError as e:
        raise MissingDependencyError(
            f"{purpose} needs PIL, which is not installed; run: pip install pillow "
            "(or log the image as .png, which needs no extra library)"
        ) from e
    return Image


def _as_uint8(image: Any) -> Any:
    import numpy as np

    array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ValueError(
            f"an image array has shape (H, W) or (H, W, 1|3|4 channels), got {array.shape}"
        )
    if array.dtype.kind == "b":
        return array.astype(np.uint8) * 255
    if array.dtype.kind == "f":
        if array.size and (np.nanmin(array) < 0 or np.nanmax(array) > 1):
            raise ValueError("a float image array holds values in [0, 1]; scale it first")
        return np.round(np.nan_to_num(array) * 255).astype(np.uint8)
    if array.dtype.kind in "iu":
        if array.size and (array.min() < 0 or array.max() > 255):
            raise ValueError("an integer image array holds values in [0, 255]; scale it first")
        return array.astype(np.uint8)
    raise ValueError(f"an image array holds numbers, not {array.dtype}")


def _png(pixels: Any) -> bytes:
    """An 8-bit PNG of an (H, W, C) uint8 array: grayscale, RGB or RGBA."""
    height, width, channels = pixels.shape
    if channels == 1:
        color = 0
    elif channels == 3:
        color = 2
    else:
        color = 6

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    # every scanline starts with filter type 0 (none)
    rows = b"".join(b"\x00" + pixels[y].tobytes() for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 6))
        + chunk(b"IEND", b"")
    )


def split_runs_uri(uri: str) -> tuple[str, str]:
    """``runs:/<run_id>/a/b.txt`` -> ``(run_id, "a/b.txt")``; the path may be empty."""
    rest = uri[len("runs:") :].lstrip("/")
    run_id, _, path = rest.partition("/")
    if not run_id:
        raise StoreError(f"invalid artifact URI {uri!r}: expected runs:/<run_id>/<path>")
    return run_id, path.strip("/")
