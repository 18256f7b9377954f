"""Upper bounds of a request's input tokens: the UTF-8 length of its text plus formatting."""

from __future__ import annotations

from custom_components.aicleaner.router.estimate import (
    TOKENS_PER_MESSAGE,
    text_token_bound,
    utf8_length,
)


def test_ascii_text_counts_one_byte_a_character() -> None:
    assert utf8_length("clean the kitchen") == 17


def test_non_ascii_text_counts_its_utf8_bytes() -> None:
    assert utf8_length("台所") == 6
    assert utf8_length("Küche") == 6
    assert utf8_length("🧹") == 4


def test_lone_surrogates_do_not_break_the_estimate() -> None:
    assert utf8_length("a\udc80") == 4


def test_bound_adds_formatting_per_message() -> None:
    assert text_token_bound("p", None) == 1 + TOKENS_PER_MESSAGE
    assert text_token_bound("p", "") == 1 + TOKENS_PER_MESSAGE
    assert text_token_bound("台所", "sys") == 6 + 3 + 2 * TOKENS_PER_MESSAGE
