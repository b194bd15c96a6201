"""Text options under hostile input (issue: trust, part three, kind 2): each value is
checked against what it is for, the error names the option and quotes at most a short,
escaped part of the value (never a password), exit 2, and nothing is written."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceguide.cli import main

DRILL = """\
title: Options
stages:
  - name: Go
    duration: 5
    say: Go.
"""
PROGRAMME = """\
programme: 1
title: Opt
weeks:
  - sessions: [drill.yaml]
"""
SECRET = "s3cr3tPa55"
HUGE = "x" * 100_000

BAD = [
    ("--title", HUGE),
    ("--author", HUGE),
    ("--title", "tab\x1b[2Jclear"),
    ("--email", HUGE + "@example.org"),
    ("--category", "Cooking"),
    ("--category", "Health & Fitness › Cooking"),
    ("--category", "Health & Fitness › Fitness › Running"),
    ("--language", "pt_BR"),
    ("--language", "english"),
    ("--language", HUGE),
    ("--base-url", f"https://coach:{SECRET}@example.org/runs/"),
    ("--base-url", f"https://{SECRET}@example.org/runs/"),
    ("--base-url", f"http://coach:{SECRET}@example.org:8080/"),
    ("--base-url", "https://example.org/runs/?"),
    ("--base-url", "https://example.org/runs/#"),
    ("--base-url", "https://example.org/runs/?a=1"),
    ("--base-url", "ftp://example.org/runs/"),
    ("--base-url", "https://" + HUGE),
    ("--start", "9999-12-31"),
    ("--start", "0001-01-01"),
    ("--start", HUGE),
    ("--days", HUGE),
    ("--days", "mon,mon"),
]


@pytest.mark.parametrize(("option", "value"), BAD, ids=[f"{o}-{v[:24]}" for o, v in BAD])
def test_a_bad_text_option_is_one_short_line_naming_it(tmp_path: Path, option: str,
                                                       value: str) -> None:
    (tmp_path / "drill.yaml").write_text(DRILL)
    (tmp_path / "opt.yaml").write_text(PROGRAMME)
    extra = ["--days", "mon"] if option == "--start" else (
        ["--start", "2027-01-04"] if option == "--days" else [])
    result = CliRunner().invoke(main, ["publish", str(tmp_path / "opt.yaml"), "--to",
                                       str(tmp_path / "site"), option, value, *extra])
    assert result.exit_code == 2, result.output
    error = result.output.strip().splitlines()[-1]
    assert option in error and len(error) < 300, error
    assert SECRET not in result.output and "\x1b" not in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize(("given", "kept"), [
    ("sports > running", "Sports › Running"),
    ("Health & Fitness", "Health & Fitness"),
    ("health & fitness › fitness", "Health & Fitness › Fitness"),
])
def test_a_category_is_kept_as_apple_spells_it(given: str, kept: str) -> None:
    from voiceguide.phone.feed import category

    assert category(given) == kept


@pytest.mark.parametrize("tag", ["en", "de", "pt-BR", "zh-Hant-TW", "es-419", "de-CH-1996"])
def test_language_tags_feeds_carry(tag: str) -> None:
    from voiceguide.words import is_language_tag

    assert is_language_tag(tag)


def test_a_kept_address_with_a_password_is_never_published(tmp_path: Path) -> None:
    """An index from before (or edited by hand) that keeps an address with credentials
    is read as knowing no address: no feed, no calendar, nothing names the password."""
    import json

    from voiceguide.phone import feed

    site = tmp_path / "site"
    site.mkdir()
    (site / feed.INDEX).write_text(json.dumps({"channel": {
        "base_url": f"https://coach:{SECRET}@example.org/runs/"}, "sessions": []}))
    assert feed.read_index(site).channel.base_url == ""


def test_the_calendars_name_is_escaped_as_rfc_5545_asks() -> None:
    from voiceguide.phone.calendar import calendar
    from voiceguide.phone.feed import Channel, Entry

    entry = Entry("w01-01-a", "t", "d", 1, 1, "g", "Mon, 04 Jan 2027 00:00:00 +0000",
                  date="2027-01-04")
    text = calendar([entry], Channel(title="Hills; fast, slow \\ easy",
                                     base_url="https://example.org/r/")).decode()
    assert "X-WR-CALNAME:Hills\\; fast\\, slow \\\\ easy\r\n" in text
