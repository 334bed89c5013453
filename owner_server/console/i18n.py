"""Polish and English for the console: a catalog keyed by the English text.

Templates and routes write ``_("Agents")`` or ``_("{n} agents", n=3)``; the
English text is the key of ``i18n/pl.toml``. The language is the
``custos-lang`` cookie (set by the language switch), else the first of
``Accept-Language`` we have (RFC 9110, section 12.5.4), else English. The
catalog of a language is every ``i18n/<lang>/*.toml`` (one file per page
group); a test checks that every text the console uses has its Polish and
that no text is given twice.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from functools import cache
from importlib import resources

from fastapi import Request

__all__ = ["DEFAULT", "LANG_COOKIE", "LANGUAGES", "Translate", "catalog", "pick_language", "translator"]

LANGUAGES = ("en", "pl")
DEFAULT = "en"
LANG_COOKIE = "custos-lang"

Translate = Callable[..., str]


@cache
def catalog(lang: str) -> dict[str, str]:
    """The translations of ``lang`` (empty for English, whose texts are the keys)."""
    if lang == DEFAULT:
        return {}
    folder = resources.files("owner_server.console").joinpath("i18n", lang)
    table: dict[str, str] = {}
    for part in sorted(folder.iterdir(), key=lambda p: p.name):
        if part.name.endswith(".toml"):
            table.update({str(k): str(v) for k, v in tomllib.loads(part.read_text(encoding="utf-8")).items()})
    return table


def translator(lang: str) -> Translate:
    """``_(text, **values)``: the text in ``lang`` (the English when missing), with ``{name}`` filled from values."""
    table = catalog(lang if lang in LANGUAGES else DEFAULT)

    def translate(text: str, /, **values: object) -> str:
        found = table.get(text, text)
        return found.format(**values) if values else found

    return translate


def _accept_language(header: str) -> str | None:
    weighted: list[tuple[float, str]] = []
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            weighted.append((quality, primary))
    return max(weighted, key=lambda item: item[0])[1] if weighted else None


def pick_language(request: Request) -> str:
    """The language of a request: cookie, then ``Accept-Language``, then English."""
    chosen = request.cookies.get(LANG_COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    return _accept_language(request.headers.get("accept-language", "")) or DEFAULT
