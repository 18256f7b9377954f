"""Upper bounds of what one request can cost, so that a budget reservation always covers it.

Every tokenizer the providers use (byte-level BPE for OpenAI, Anthropic and Llama-family models,
SentencePiece with byte fallback for Gemini) spends at least one UTF-8 byte of text per token, so
the UTF-8 length of the text bounds its input tokens, whatever the script (CJK text takes three
bytes a character, and rarely fewer than one token a character). Each message adds a few tokens of
chat formatting (role markers, separators, the priming of the reply). Images are bounded by the
model's `ModelCapabilities.tokens_per_image` and output by `max_tokens`.
"""

from __future__ import annotations

# Chat formatting tokens one message can add (OpenAI adds 3 to 4, plus 3 to prime the reply);
# generous, because an under-estimate could overspend a budget and this costs next to nothing.
TOKENS_PER_MESSAGE = 16


def utf8_length(text: str) -> int:
    """Bytes of `text` in UTF-8; O(1) for ASCII text, which CPython flags when it builds a str."""
    if text.isascii():
        return len(text)
    # Lone surrogates cannot be sent anyway; they must not break the estimate.
    return len(text.encode("utf-8", "surrogatepass"))


def text_token_bound(prompt: str, system_prompt: str | None) -> int:
    """Most input tokens the prompt and system prompt can take, formatting included."""
    if system_prompt:
        return utf8_length(prompt) + utf8_length(system_prompt) + 2 * TOKENS_PER_MESSAGE
    return utf8_length(prompt) + TOKENS_PER_MESSAGE
