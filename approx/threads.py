"""OpenBLAS threads, set before JAX loads (``approx/__init__`` imports this first).

JAX's CPU linear algebra (the least-squares readout's SVD) calls LAPACK
through OpenBLAS, whose worker threads spin while XLA's own threads run and
make a batch of small SVDs erratically slow (up to hundreds of times). The
matrices are small, so one thread is best; a value the user has set is kept.
"""

import os

OPENBLAS_THREADS_SET_BY_APPROX = "OPENBLAS_NUM_THREADS" not in os.environ
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
