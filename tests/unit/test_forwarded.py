"""Which address a request is counted against: X-Forwarded-For is believed only from a trusted
proxy, read from the right, and only as far as its entries are trusted IP addresses."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from serving.forwarded import Network, client_address

LOOPBACK = (ip_network("127.0.0.1/32"), ip_network("::1/128"))
CLUSTER = (ip_network("10.0.0.0/8"),)


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        # The portal on this machine names the browser.
        ("127.0.0.1", "198.51.100.7", LOOPBACK, "198.51.100.7"),
        ("::1", "2001:db8::5", LOOPBACK, "2001:db8::5"),
        ("::ffff:127.0.0.1", "198.51.100.7", LOOPBACK, "198.51.100.7"),  # dual-stack listener
        # No header, or nobody trusted: the peer.
        ("127.0.0.1", None, LOOPBACK, "127.0.0.1"),
        ("127.0.0.1", "198.51.100.7", (), "127.0.0.1"),
        # An untrusted peer's header is ignored, however it is written.
        ("203.0.113.9", "198.51.100.7", LOOPBACK, "203.0.113.9"),
        ("203.0.113.9", "127.0.0.1", LOOPBACK, "203.0.113.9"),
        ("testclient", "198.51.100.7", LOOPBACK, "testclient"),
        # Through two trusted hops (ingress, then portal), the first untrusted entry from the right.
        ("10.1.0.4", "198.51.100.7, 10.1.0.9", CLUSTER, "198.51.100.7"),
        # What the client itself wrote to the left of the hop that saw it is not believed.
        ("10.1.0.4", "192.0.2.1, 198.51.100.7", CLUSTER, "198.51.100.7"),
        # A malformed entry stops the walk at the last believable hop.
        ("10.1.0.4", "198.51.100.7, not-an-ip", CLUSTER, "10.1.0.4"),
        ("10.1.0.4", "garbage, 10.1.0.9", CLUSTER, "10.1.0.9"),
        ("10.1.0.4", "", CLUSTER, "10.1.0.4"),
        # Every hop trusted: the leftmost (a request made from inside the trusted network).
        ("10.1.0.4", "10.2.0.1, 10.1.0.9", CLUSTER, "10.2.0.1"),
    ],
)
def test_client_address(
    peer: str, forwarded: str | None, trusted: tuple[Network, ...], expected: str
) -> None:
    assert client_address(peer, forwarded, trusted) == expected


def test_a_padded_header_cannot_push_the_trusted_hops_out() -> None:
    """A client pads the left of the header; the hop the ingress appended on the right still counts."""
    padding = ", ".join(f"192.0.2.{i % 250}" for i in range(1000))
    assert client_address("10.1.0.4", f"{padding}, 198.51.100.7", CLUSTER) == "198.51.100.7"
