"""Packing a conda environment into a bundle with conda-pack's Python API.

conda-pack writes every file of the environment into one archive, recording where the old
prefix is embedded (scripts' shebangs, text files, binaries built with a placeholder); the
``conda-unpack`` script it adds rewrites those to the new location after extraction. The
bundle's ``bootstrap.py`` extracts the archive safely and runs ``conda-unpack``.
"""

from __future__ import annotations

from pathlib import Path

from modelpack._optional import require
from modelpack.exceptions import ModelpackError

__all__ = ["CONDA_ENV_FILE", "pack_conda_env"]

CONDA_ENV_FILE = "conda-env.tar.gz"


def pack_conda_env(prefix: Path, bundle: Path) -> str:
    """Pack the conda environment at ``prefix`` into ``bundle``; return the file's name."""
    conda_pack = require("conda_pack", "pack", purpose="packing a conda environment")
    if not (prefix / "conda-meta").is_dir():
        raise ModelpackError(
            f"{prefix} is not a conda environment (it has no conda-meta/); pass --conda-prefix "
            "or use --env wheelhouse"
        )
    if not (prefix / "conda-meta" / "history").is_file():
        # Every environment conda creates has one; conda-pack dates the archive from it.
        raise ModelpackError(
            f"{prefix}/conda-meta/history is missing, so {prefix} was not created by conda and "
            "conda-pack cannot pack it; use --env wheelhouse"
        )
    try:
        env = conda_pack.CondaEnv.from_prefix(
            str(prefix),
            # modelpack is shipped beside the environment (an editable install would point
            # at a source tree that is not on the target machine).
            ignore_editable_packages=True,
            # Packages whose cache entry was cleaned are packed as plain files; conda-pack
            # then finds embedded prefixes in them by reading their contents.
            on_missing_cache="ignore",
        )
        env.pack(output=str(bundle / CONDA_ENV_FILE), format="tar.gz", force=True)
    except conda_pack.CondaPackException as e:
        raise ModelpackError(f"conda-pack could not pack {prefix}: {e}") from e
    return CONDA_ENV_FILE
