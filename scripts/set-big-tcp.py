#!/usr/bin/env python3
"""set-big-tcp.py IFACE SIZE: sets IPv4 BIG TCP sizes on IFACE in the
current network namespace: gso_ipv4_max_size = min(SIZE, the device's
tso_max_size) and gro_ipv4_max_size = SIZE.
set-big-tcp.py IFACE: prints them, and tso_max_size, as
"gso_ipv4_max_size N gro_ipv4_max_size N tso_max_size N".

What `ip link set dev IFACE gso_ipv4_max_size SIZE gro_ipv4_max_size SIZE`
does with iproute2 6.3 or later; Debian 12 ships 6.1, which cannot. Run it
in a namespace with `ip netns exec NS`. Exit status 1 with the kernel's
error if the request is refused."""
import errno
import os
import socket
import struct
import sys

RTM_NEWLINK = 16
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLMSG_ERROR = 2
IFLA_TSO_MAX_SIZE = 59
IFLA_GSO_IPV4_MAX_SIZE = 63
IFLA_GRO_IPV4_MAX_SIZE = 64
RTM_GETLINK = 18


def request(sock, msg_type, flags, index, attrs=b""):
    body = struct.pack("BxHiII", socket.AF_UNSPEC, 0, index, 0, 0) + attrs
    sock.send(struct.pack("IHHII", 16 + len(body), msg_type, flags, 1, 0) + body)
    return sock.recv(65536)


def u32_attr(kind, value):
    return struct.pack("HHI", 8, kind, value)


def link_u32s(sock, index):
    """The link's 4-byte attributes, by type."""
    reply = request(sock, RTM_GETLINK, NLM_F_REQUEST, index)
    _, kind = struct.unpack_from("IH", reply)
    if kind == NLMSG_ERROR:
        return {}
    attrs = {}
    at = 16 + 16  # nlmsghdr, ifinfomsg
    while at + 4 <= len(reply):
        length, attr = struct.unpack_from("HH", reply, at)
        if length < 4:
            break
        if length == 8:
            attrs[attr] = struct.unpack_from("I", reply, at + 4)[0]
        at += (length + 3) & ~3
    return attrs


def main():
    if len(sys.argv) not in (2, 3) or (len(sys.argv) == 3 and not sys.argv[2].isdigit()):
        sys.exit(__doc__)
    name = sys.argv[1]
    try:
        index = socket.if_nametoindex(name)
    except OSError:
        sys.exit(f"set-big-tcp: no interface {name} here")
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    attrs = link_u32s(sock, index)
    if len(sys.argv) == 2:
        print(" ".join(f"{label} {attrs.get(kind, 0)}" for label, kind in (
            ("gso_ipv4_max_size", IFLA_GSO_IPV4_MAX_SIZE),
            ("gro_ipv4_max_size", IFLA_GRO_IPV4_MAX_SIZE),
            ("tso_max_size", IFLA_TSO_MAX_SIZE))))
        return
    size = int(sys.argv[2])
    gso = min(size, attrs.get(IFLA_TSO_MAX_SIZE) or size)
    reply = request(sock, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, index,
                    u32_attr(IFLA_GSO_IPV4_MAX_SIZE, gso) +
                    u32_attr(IFLA_GRO_IPV4_MAX_SIZE, size))
    err = -struct.unpack_from("i", reply, 16)[0]
    if err:
        sys.exit(f"set-big-tcp: {name}: {os.strerror(err)} ({errno.errorcode.get(err, err)})")


if __name__ == "__main__":
    main()
