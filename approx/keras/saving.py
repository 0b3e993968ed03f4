"""``keras.saving``: ``save_model`` and ``load_model`` (see :mod:`approx.keras._archive` for the file)."""

from approx.keras._subset import missing_name
from approx.keras.models import load_model, save_model

__all__ = ["load_model", "save_model"]

__getattr__ = missing_name("keras.saving", "names", __all__)
