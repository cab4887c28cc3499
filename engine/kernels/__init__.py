"""Every numba function of the project lives in this package.

Rules: numpy arrays and scalars in, arrays out; never pandas, dates or strings. All kernels are compiled with
the single decorator policy of :mod:`engine.kernels._jit` (on-disk cache, no fastmath) so a second process
does not recompile.
"""
