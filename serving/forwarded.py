"""The address a request really came from, when it came through a proxy we trust.

The portal logs every person in through the API from its one process; without this the API would
count all their failed logins against the portal's address. A trusted proxy (the portal, an
ingress) names the address it was reached from in X-Forwarded-For; anyone else could write any
address there to dodge the login throttle, so the header is believed only from the networks in
``ASTRALYTIQ_TRUSTED_PROXIES``. ``serving.middleware`` replaces the ASGI ``client`` with it, so
the throttle and the audit log both see the browser's address.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

Network = IPv4Network | IPv6Network

# Largest header value read: a forged chain of thousands of hops must not cost a parse each. Only
# its right end is kept: trusted proxies append there, and a client pads the left to push them out.
MAX_HEADER_CHARS = 2048


def _ip(text: str) -> IPv4Address | IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    # A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d; compare them as IPv4.
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _is_trusted(ip: IPv4Address | IPv6Address, trusted: Sequence[Network]) -> bool:
    return any(ip in network for network in trusted)


def client_address(peer: str, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The peer's address, or, when the peer is a trusted proxy, the address it was reached from.

    Each proxy appends the address it was reached from, so X-Forwarded-For is read from the right:
    trusted hops are skipped, and the first untrusted one is the client. An entry that is not an
    IP address stops the walk (what lies left of it cannot be believed either)."""
    peer_ip = _ip(peer)
    if not forwarded_for or peer_ip is None or not _is_trusted(peer_ip, trusted):
        return peer
    address = peer
    for hop in reversed(forwarded_for[-MAX_HEADER_CHARS:].split(",")):
        ip = _ip(hop.strip())
        if ip is None:
            break
        address = str(ip)
        if not _is_trusted(ip, trusted):
            break
    return address
