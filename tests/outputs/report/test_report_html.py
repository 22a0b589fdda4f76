"""The rendered documents: strict HTML5, self-contained (no external resource), escaped,
numbers and charts labelled for people."""

from __future__ import annotations

import re
from datetime import timedelta

import html5lib
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core.tables import CollectionRun
from outputs.report import ReportDocuments, fmt, generate_report
from tests.outputs.report import dataset as ds

HOSTILE = "<script>alert('x')</script> & <img src=https://evil.example/x.png>"
# Attributes through which a page loads or links anything, and CSS that fetches.
_REF_ATTRS = frozenset({"src", "href", "srcset", "action", "poster", "data", "background"})
_CSS_FETCH = re.compile(r"url\(|@import", re.I)
_LOADING_TAGS = frozenset({"script", "link", "iframe", "object", "embed", "img", "base"})


def external_refs(page: str) -> list[str]:
    """Everything the parsed page would load or link: reference attributes (in any
    namespace, e.g. xlink:href), attribute values holding a URL, loading elements, and CSS
    url() / @import in <style> or style attributes. Escaped text is text, not a reference."""
    tree = html5lib.parse(page, namespaceHTMLElements=False)
    found = []
    for el in tree.iter():
        tag = str(el.tag).rsplit("}", 1)[-1]
        if tag in _LOADING_TAGS:
            found.append(f"<{tag}>")
        if tag == "style" and _CSS_FETCH.search(el.text or ""):
            found.append("<style> fetch")
        for name, value in el.attrib.items():
            local = str(name).rsplit("}", 1)[-1]
            if local in _REF_ATTRS or "://" in value or _CSS_FETCH.search(value):
                found.append(f"{local}={value}")
    return found


@pytest.fixture
def docs(engine: Engine) -> ReportDocuments:
    ds.load_week(engine)
    with Session(engine) as session, session.begin():
        at = ds.MID + timedelta(hours=1)
        session.add(CollectionRun(source="hostile", started_at=at, finished_at=at,
                                  status="failed", rows_written=0, rows_new=0,
                                  error_class="X", error_message=HOSTILE))  # fmt: skip
    return generate_report(
        engine, week=ds.WEEK, profiles=[ds.profile()], now=ds.REPORT_NOW, previous=None
    )


def test_the_page_is_strict_html5(docs: ReportDocuments) -> None:
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    tree = parser.parse(docs.html)
    assert docs.html.startswith("<!DOCTYPE html>")
    assert tree.find("head/meta[@charset='utf-8']") is not None
    assert tree.find("head/style") is not None
    assert tree.findtext("head/title") == "spotsel weekly report 2026-W48"


def test_strict_parsing_catches_a_broken_page() -> None:
    """Guard: the parser used above refuses what a browser would have to repair."""
    with pytest.raises(html5lib.html5parser.ParseError):
        html5lib.HTMLParser(strict=True).parse("<!DOCTYPE html><p><div></p></span>")


def test_nothing_is_loaded_from_elsewhere_and_no_script_runs(docs: ReportDocuments) -> None:
    assert external_refs(docs.html) == []
    assert "<script" not in docs.html.lower()
    assert "<link" not in docs.html.lower()


def test_the_external_reference_check_can_fail() -> None:
    bad = (
        '<!DOCTYPE html><title>x</title><link rel="stylesheet" href="/x.css">'
        '<p style="background:url(a.png)">a</p><svg><image xlink:href="https://cdn.example/a.png"/>'
        "</svg><style>@import 'https://cdn.example/b.css';</style>"
    )
    found = external_refs(bad)
    assert "<link>" in found
    assert any(f.startswith("style=") for f in found)
    assert any("cdn.example/a.png" in f for f in found)
    assert "<style> fetch" in found


def test_text_from_the_store_is_escaped(docs: ReportDocuments) -> None:
    assert HOSTILE not in docs.html
    assert "&lt;script&gt;alert(" in docs.html
    assert "evil.example" in docs.html  # shown as text ...
    assert external_refs(docs.html) == []  # ... never as a reference
    # Markdown keeps the text but no raw pipe breaks its table.
    line = next(x for x in docs.markdown.splitlines() if x.startswith("| hostile"))
    assert line.count(" | ") == 7  # eight cells


def test_numbers_are_formatted_for_people(docs: ReportDocuments) -> None:
    for text in (docs.html, docs.markdown):
        assert re.search(r"\$\d{1,3}(,\d{3})*\.\d{2}\b", text)  # weekly costs: $249.33
        assert re.search(r"\d+\.\d %", text)  # savings: 26.0 %
        assert re.search(r"\$0\.\d{4}/h", text)  # prices per hour
        assert "168 h" in text


def test_charts_carry_axes_units_and_dates(docs: ReportDocuments) -> None:
    svg_price = docs.html.split('<svg class="chart price-chart"', 1)[1].split("</svg>", 1)[0]
    assert ">$/h</text>" in svg_price
    assert ">date (UTC)</text>" in svg_price
    assert ">Mon 23 Nov</text>" in svg_price
    assert "<polyline" in svg_price
    heat = docs.html.split('<svg class="chart heat-map"', 1)[1].split("</svg>", 1)[0]
    assert ">interruptions/h</text>" in heat
    for zone in ds.ZONES:
        assert f">{zone}</text>" in heat


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (fmt.money(1234.5), "$1,234.50"),  # why: thousands separator, cents
        (fmt.money(-12), "−$12.00"),  # why: a negative amount keeps its sign before the $
        (fmt.money(None), "—"),  # why: unknown is a dash, never "$nan"
        (fmt.pct(0.123), "12.3 %"),
        (fmt.signed_pct(1.0), "+100.0 %"),  # why: a doubled price
        (fmt.signed_pct(-0.25), "−25.0 %"),
        (fmt.per_hour(0.41234), "$0.4123/h"),
        (fmt.hazard(0.041234), "0.0412/h"),
        (fmt.hours(1234.56), "1,234.6 h"),
        (fmt.age(timedelta(hours=80)), "3.3 days"),
    ],
)
def test_formats(value: str, text: str) -> None:
    assert value == text
