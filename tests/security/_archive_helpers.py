"""Hostile archives, crafted byte by byte so that they stay small however far they expand.

A gzip file may hold several members that decompress as one stream, and a deflate block made
after a full flush does not refer to earlier data: so one compressed block of zeros, repeated,
is a valid stream of as many zeros as wanted, built in the time it takes to write its copies.
"""

from __future__ import annotations

import gzip
import io
import struct
import tarfile
import zlib
from pathlib import Path

MiB = 1 << 20
GiB = 1 << 30


def tar_gz_of_zeros(
    path: Path, size: int, *, name: str = "zeros.bin", block: int = 16 * MiB
) -> Path:
    """A .tar.gz whose one member is ``size`` zero bytes (``size`` a multiple of ``block``)."""
    assert size % block == 0
    info = tarfile.TarInfo(name)
    info.size = size
    zeros = gzip.compress(bytes(block), compresslevel=9)
    with open(path, "wb") as f:
        f.write(gzip.compress(info.tobuf(format=tarfile.GNU_FORMAT)))
        for _ in range(size // block):
            f.write(zeros)
        f.write(gzip.compress(bytes(2 * tarfile.BLOCKSIZE)))  # the end-of-archive blocks
    return path


def _deflated_zeros(size: int, block: int) -> bytes:
    """A raw deflate stream of ``size`` zeros, from one compressed block repeated."""
    assert size % block == 0
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = c.compress(bytes(block)) + c.flush(zlib.Z_FULL_FLUSH)
    end = zlib.compressobj(9, zlib.DEFLATED, -15)
    return piece * (size // block) + end.flush(zlib.Z_FINISH)


def zip_of_zeros(path: Path, members: int, each: int, *, block: int = MiB) -> Path:
    """A zip of ``members`` files of ``each`` zero bytes, all sharing one deflate stream."""
    data = _deflated_zeros(each, block)
    crc = 0
    chunk = bytes(block)
    for _ in range(each // block):
        crc = zlib.crc32(chunk, crc)
    out = io.BytesIO()
    central = []
    for i in range(members):
        name = f"bomb/{i:05d}.bin".encode()
        offset = out.tell()
        out.write(
            struct.pack(
                "<4s5H3I2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(data), each, len(name), 0
            )
        )
        out.write(name + data)
        central.append(
            struct.pack(
                "<4s6H3I5H2I",
                b"PK\x01\x02",
                0x0314,  # made by: Unix, so the mode in the external attributes is read
                20,
                0,
                8,
                0,
                0,
                crc,
                len(data),
                each,
                len(name),
                0,
                0,
                0,
                0,
                0o100644 << 16,
                offset,
            )
            + name
        )
    start = out.tell()
    for entry in central:
        out.write(entry)
    size = out.tell() - start
    out.write(struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, members, members, size, start, 0))
    path.write_bytes(out.getvalue())
    return path


def tar_of_empty_files(path: Path, count: int) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for i in range(count):
            tf.addfile(tarfile.TarInfo(f"many/{i:06d}"), io.BytesIO(b""))
    return path


def tar_of(path: Path, files: dict[str, bytes], *, compression: str = "gz") -> Path:
    with tarfile.open(path, f"w:{compression}" if compression else "w") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def everything_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))
