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


def test_formatting_allowance_covers_openais_documented_chat_format() -> None:
    # OpenAI's cookbook ("How to count tokens with tiktoken") counts, per message, at most 4
    # formatting tokens (gpt-3.5-turbo-0301: <|start|>{role}\n{content}<|end|>\n) plus the role
    # itself (1 token for "user" or "system"), and 3 more to prime the reply
    # (<|start|>assistant<|message|>). The bound must never be below that, or a reservation
    # could be short of what the call costs.
    per_message, reply_priming = 4 + 1, 3
    assert text_token_bound("", None) >= per_message + reply_priming
    assert (
        text_token_bound("", "s") - utf8_length("s") >= 2 * per_message + reply_priming
    )


def test_the_bound_grows_with_every_byte_of_prompt_and_system_prompt() -> None:
    base = text_token_bound("p", "s")
    assert text_token_bound("pp", "s") == base + 1
    assert text_token_bound("p", "ss") == base + 1
    assert text_token_bound("p", "s台") == base + 3
