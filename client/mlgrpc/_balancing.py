"""Several replicas behind one service URI, balanced by gRPC itself (no proxy).

`grpc://10.0.0.1:50051,10.0.0.2:50051` becomes gRPC's static multi-address target
`ipv4:10.0.0.1:50051,10.0.0.2:50051` (`ipv6:[::1]:50051,…` for IPv6), and
`grpc://dns:///tracking.internal:50051` keeps gRPC's DNS resolver, which re-resolves the name
and yields every A/AAAA record (a Kubernetes headless service, for instance). Either way the
channel gets the `round_robin` policy: one HTTP/2 connection per replica, calls spread over the
replicas that are up, a replica that goes away skipped until it is back.

A list of host *names* is refused: gRPC has no resolver for it, and resolving the names once
here would freeze the set of replicas; one DNS name with several records is the way.
"""

from __future__ import annotations

import ipaddress
import json
import re

from mlgrpc.exceptions import InvalidArgumentError

_ADDRESS = re.compile(
    r"^(\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<v4>[0-9.]+)|(?P<name>[A-Za-z0-9_.\-]+))"
    r":(?P<port>\d{1,5})$"
)
_DNS = re.compile(r"^dns:(//[A-Za-z0-9_.\-:\[\]]*)?/(?P<host_port>[^/]+)$", re.IGNORECASE)

#: The part of a gRPC service config that selects client-side round-robin balancing.
ROUND_ROBIN = {"loadBalancingConfig": [{"round_robin": {}}]}


def balanced_target(text: str, *, uri: str, what: str) -> str | None:
    """The gRPC target for a list of addresses or a `dns:` name; None for a single address."""
    lowered = text.lower()
    if lowered.startswith("dns:"):
        match = _DNS.match(text)
        if match is None or _ADDRESS.match(match.group("host_port")) is None:
            raise _invalid(uri, what, "a DNS target is written 'dns:///name:port'")
        _check_port(match.group("host_port"), uri, what)
        return text
    if lowered.startswith(("ipv4:", "ipv6:")):
        family, _, addresses = text.partition(":")
        text, expected = addresses, family.lower()
    elif "," in text:
        expected = ""
    else:
        return None
    families = {_family_of(part.strip(), uri, what) for part in text.split(",")}
    if len(families) != 1 or (expected and families != {expected}):
        raise _invalid(uri, what, "all addresses of a list must be IPv4, or all IPv6")
    (family,) = families
    return f"{family}:" + ",".join(part.strip() for part in text.split(","))


def with_round_robin(service_config: str) -> str:
    """`service_config` (JSON, possibly empty) with round-robin load balancing added."""
    config = json.loads(service_config) if service_config else {}
    config.update(ROUND_ROBIN)
    return json.dumps(config)


def _family_of(address: str, uri: str, what: str) -> str:
    match = _ADDRESS.match(address)
    if match is None:
        raise _invalid(uri, what, f"{address!r} is not 'ip:port'")
    _check_port(address, uri, what)
    if match.group("name") is not None:
        raise _invalid(
            uri,
            what,
            f"{address!r} is a host name; list IP addresses, or give one DNS name with a record "
            "per replica as 'dns:///name:port'",
        )
    literal = match.group("v6") or match.group("v4")
    try:
        ip = ipaddress.ip_address(literal)
    except ValueError:
        raise _invalid(uri, what, f"{literal!r} is not an IP address") from None
    return "ipv6" if ip.version == 6 else "ipv4"


def _check_port(address: str, uri: str, what: str) -> None:
    port = int(address.rsplit(":", 1)[1])
    if not 0 < port < 65536:
        raise _invalid(uri, what, f"port {port} is out of range")


def _invalid(uri: str, what: str, why: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"{what} {uri!r} is not a list of gRPC addresses: {why}; e.g. "
        "'grpc://10.0.0.1:50051,10.0.0.2:50051' or 'grpc://dns:///tracking.internal:50051'",
        field="tracking_uri",
    )
