"""The one numba decorator policy of the project.

* ``cache=True``: compiled machine code is written next to the module (``__pycache__``) or to
  ``NUMBA_CACHE_DIR`` so the second process loads it instead of recompiling.
* ``fastmath=False``: results must be reproducible to the last bit and NaN handling must be IEEE-exact.
* ``nogil=True``: kernels can run in threads (Dask workers, thread pools).

Use ``@njit`` for serial kernels and ``@njit_parallel`` (``parallel=True``) only where a ``prange`` over
independent columns exists.
"""
from __future__ import annotations

import numba

_POLICY = dict(cache=True, fastmath=False, nogil=True, error_model="numpy")


def njit(*args, **kwargs):
    opts = {**_POLICY, **kwargs}
    if args and callable(args[0]) and len(args) == 1 and not kwargs:
        return numba.njit(**_POLICY)(args[0])
    return numba.njit(*args, **opts)


def njit_parallel(*args, **kwargs):
    opts = {**_POLICY, "parallel": True, **kwargs}
    if args and callable(args[0]) and len(args) == 1 and not kwargs:
        return numba.njit(**{**_POLICY, "parallel": True})(args[0])
    return numba.njit(*args, **opts)
