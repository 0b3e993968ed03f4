"""Which language a figure's text reads in, for the figure tests.

A figure's text objects are split into words of four letters or more; a
Spanish figure must show some words that only the Spanish labels use and none
that only the English labels use (and the other way round). The two word
lists come from the tables of :mod:`approx.plots.text` (every label and every
display name) as they stand when a check runs, rows registered by the lecture
and scenario figures included; names such as Cybenko or ReLU are in both
languages and so in neither list.
"""

from __future__ import annotations

import re

from approx.plots.text import LANGS, TEXT, display_names

__all__ = ["ONLY", "language_errors", "misread_numbers", "words"]


def words(text: str) -> set[str]:
    """Words of four letters or more (placeholders such as ``{k}`` dropped)."""
    return {w.lower() for w in re.findall(r"[^\W\d_]{4,}", re.sub(r"\{[^}]*\}", " ", text))}


def _vocabulary(lang: str) -> set[str]:
    return set().union(*(words(v) for v in (*TEXT[lang].values(), *display_names(lang).values())))


class _Only:
    """``ONLY[lang]``: words only ``lang``'s labels use, from the tables as they are now."""

    def __getitem__(self, lang: str) -> set[str]:
        other = "es" if lang == "en" else "en"
        return _vocabulary(lang) - _vocabulary(other)


ONLY = _Only()


def language_errors(texts: list[str], lang: str) -> list[str]:
    """What makes ``texts`` not read as ``lang``: words of the other
    language, or none of its own (an empty list when they read as ``lang``)."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; valid: {', '.join(LANGS)}")
    other = "es" if lang == "en" else "en"
    # File paths (a figure may name the run folder it reads) are not words.
    found = set().union(*(words(re.sub(r"\S*/\S*", " ", t)) for t in texts)) if texts else set()
    errors = [f"{other} word {w!r}" for w in sorted(found & ONLY[other])]
    if not found & ONLY[lang]:
        errors.append(f"no {lang} word among {sorted(found)}")
    return errors


def misread_numbers(texts: list[str], lang: str) -> list[str]:
    """The texts with a number written in the other language's decimal mark
    (``0.5`` in Spanish, ``0,5`` in English; English groups of thousands,
    ``60,000``, are no decimals) or with a hyphen for a minus sign."""
    if lang == "es":
        decimal = lambda t: re.search(r"\d\.\d", t)
    else:
        decimal = lambda t: re.search(r"\d,\d", re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", t))
    return [t for t in texts if decimal(t) or re.search(r"(?<![\w)\]])-\d", t)]
