"""Lazy imports of the optional libraries the media types lean on, with an install hint.

numpy, pandas, pillow and soundfile are heavy and optional (the ``media`` extra). Nothing here
imports them at module level, so ``import cairn`` stays light; a type that needs one imports it
the first time it is used, and its absence becomes an ImportError that says what to install.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any

INSTALL_HINT = "pip install 'cairn[media]'"

# Import name -> the distribution that provides it (what pip needs to hear).
_DISTRIBUTIONS = {
    "numpy": "numpy",
    "pandas": "pandas",
    "PIL.Image": "pillow",
    "soundfile": "soundfile",
}


def require(module: str, feature: str) -> ModuleType:
    """Import ``module`` for ``feature`` or raise ImportError naming the pip command.

    Raises:
        ImportError: the library is not installed (or, for soundfile, its native libsndfile
            could not be loaded, which soundfile reports as OSError).
    """
    try:
        return importlib.import_module(module)
    except (ImportError, OSError) as exc:
        dist = _DISTRIBUTIONS.get(module, module.split(".")[0])
        raise ImportError(
            f"{feature} needs the '{dist}' package, which is not installed: {INSTALL_HINT}"
        ) from exc


def loaded(module: str) -> ModuleType | None:
    """The module if something already imported it, else None (never imports).

    Used for isinstance checks: a value cannot be a numpy array if numpy was never imported,
    so asking costs nothing and keeps the library optional.
    """
    return sys.modules.get(module)


def is_ndarray(value: Any) -> bool:
    np = loaded("numpy")
    return np is not None and isinstance(value, np.ndarray)


def is_numpy_scalar(value: Any) -> bool:
    np = loaded("numpy")
    return np is not None and isinstance(value, np.generic)


def is_dataframe(value: Any) -> bool:
    pd = loaded("pandas")
    return pd is not None and isinstance(value, pd.DataFrame)


def is_pil_image(value: Any) -> bool:
    pil = loaded("PIL.Image")
    return pil is not None and isinstance(value, pil.Image)
