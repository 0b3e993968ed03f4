"""``keras.backend``: the few backend functions course code calls."""

from approx.keras import _engine
from approx.keras._subset import missing_name, reset_names
from approx.keras._weights import clear_init_programs

__all__ = ["backend", "clear_session", "epsilon", "floatx"]


def backend() -> str:
    return "jax"


def epsilon() -> float:
    return 1e-7


def floatx() -> str:
    return "float32"


def clear_session(free_memory: bool = True) -> None:
    """Starts names again (``dense``, ``dense_1``, ..., ``precision``, ...) and
    drops approx.keras's compiled programs, as Keras's ``clear_session`` does."""
    reset_names()
    _engine.clear_programs()
    clear_init_programs()


__getattr__ = missing_name("keras.backend", "functions", __all__)
