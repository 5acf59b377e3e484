"""Threads the trace analyses do not need: call before NumPy is imported.

NumPy's wheels load OpenBLAS, which starts a thread per core when it loads (about 45 ms on
the 2-core dev VM: ``import numpy`` 0.105 s against 0.06 s with one thread, a fifth of a
small trace set's whole run). The trace analyses use no BLAS (sorting, searching and
reductions only), so ``trace`` commands ask for one. A value the user set is kept.
"""

from __future__ import annotations

import os

#: What the commands set; OpenBLAS reads it once, when NumPy loads it.
BLAS_THREADS_VARIABLE = "OPENBLAS_NUM_THREADS"


def spare_blas_threads() -> bool:
    """Ask OpenBLAS for one thread unless the user chose; True if this call set it."""
    if BLAS_THREADS_VARIABLE in os.environ:
        return False
    os.environ[BLAS_THREADS_VARIABLE] = "1"
    return True
