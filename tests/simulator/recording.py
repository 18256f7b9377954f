"""What the simulator received: one record per request, kept for tests to assert on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request as it arrived (nothing redacted: the simulator is test-only)."""

    provider: str
    endpoint: str  # "generate" (completions) or "models" (lists, details, version)
    method: str
    path: str  # the full path, prefix included, e.g. /openai/v1/chat/completions
    query: dict[str, str]
    headers: dict[str, str]
    json: Any  # the parsed JSON body, or None (no body or not JSON)
    body: bytes

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form for GET /_sim/requests (the raw body is left out)."""
        return {
            "provider": self.provider,
            "endpoint": self.endpoint,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "json": self.json,
        }
