"""Per-pixel loops of the renderers compiled by numba, which is imported on first use only."""

from __future__ import annotations

import functools
from collections.abc import Callable

from craftvision.errors import ConfigError


@functools.cache
def compiled(kernel: Callable[..., None]) -> Callable[..., None]:
    """``kernel`` compiled by numba (the synth extra) on its first call.

    The machine code is cached on disk (in ``NUMBA_CACHE_DIR`` if set, else beside the kernel's
    source, else in the user's cache folder); where none is writable it is compiled in each
    process. Without numba the error names the renderer (the kernel's module) and the extra.
    """
    try:
        import numba
    except ImportError as err:
        renderer = kernel.__module__.rpartition(".")[2]
        raise ConfigError(
            f"rendering {renderer} images needs the numba package: pip install 'craftvision[synth]'"
        ) from err
    try:
        return numba.njit(cache=True, error_model="numpy")(kernel)
    except RuntimeError:  # numba found no writable cache folder
        return numba.njit(error_model="numpy")(kernel)
