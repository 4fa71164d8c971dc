"""A tariff's own text is shown in the driver's language when the CPO wrote one in it (Accept-Language,
with its quality values), and in every language it gave otherwise."""

from __future__ import annotations

import pytest

from api.routes.locations import alt_texts_for, preferred_languages
from api.schemas import DisplayTextRead

TEXTS = [
    DisplayTextRead(language="en", text="0.59 EUR per kWh"),
    DisplayTextRead(language="de", text="0,59 EUR pro kWh"),
    DisplayTextRead(language="FR", text="0,59 EUR par kWh"),
]


@pytest.mark.parametrize(
    ("header", "languages"),
    [
        (None, []),
        ("", []),
        ("de-CH, en;q=0.8", ["de", "en"]),
        ("en;q=0.5, fr;q=0.9, *;q=0.1", ["fr", "en"]),
        ("it;q=0, de", ["de"]),
        ("de;q=abc, en", ["en"]),
    ],
)
def test_the_languages_asked_for_most_wanted_first(header: str | None, languages: list[str]) -> None:
    assert preferred_languages(header) == languages


@pytest.mark.parametrize(
    ("header", "shown"),
    [
        ("de-DE,de;q=0.9", ["de"]),
        ("it, fr;q=0.7", ["FR"]),  # no Italian: the next language asked for, whatever the CPO's case
        ("it", ["en", "de", "FR"]),  # none of them: all
        (None, ["en", "de", "FR"]),
    ],
)
def test_the_text_in_the_drivers_language_or_all(header: str | None, shown: list[str]) -> None:
    assert [text.language for text in alt_texts_for(TEXTS, header)] == shown
