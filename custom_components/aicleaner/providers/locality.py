"""Whether a base URL keeps requests at home: the rule behind `is_local` for self-hosted providers.

A host is local when it is:
- an IP literal in a loopback, private (RFC 1918 / RFC 4193), link-local or CGNAT (Tailscale) range;
- `localhost` or a name under `.localhost`;
- a single-label name (`ollama`, `nas`: Docker service names and LAN hosts have no dots);
- a name under a home-network suffix: `.local` (mDNS), `.lan`, `.home`, `.internal`, `.home.arpa`.
Everything else, public IPs and dotted public names alike, counts as the internet. Names are not resolved:
the rule is a pure function of the URL, so it cannot block and a DNS change cannot flip it silently.
"""

from __future__ import annotations

from functools import lru_cache
import ipaddress
from typing import Final
from urllib.parse import urlsplit

_HOME_SUFFIXES: Final = (
    ".local",
    ".lan",
    ".home",
    ".internal",
    ".home.arpa",
    ".localhost",
)
_CGNAT: Final = ipaddress.ip_network("100.64.0.0/10")


@lru_cache(maxsize=64)
def is_private_host(url: str) -> bool:
    """Tell whether the host of `url` is on this machine or the home network (see above)."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost" or "." not in host or host.endswith(_HOME_SUFFIXES)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or (isinstance(address, ipaddress.IPv4Address) and address in _CGNAT)
    )
