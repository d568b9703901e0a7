/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * ovx_abi.h - the one contract between the BPF programs and the C++ side.
 *
 * Every map key and value, the counter layout, the drop reasons and the map
 * names live here and nowhere else. Rules (see STYLE.md, "The ABI header"):
 *   - depends only on <linux/types.h>; fixed-width fields, explicit padding,
 *     no bitfields, bool or enum-typed fields;
 *   - every struct has size/offset asserts that compile in C and C++;
 *   - keys are zeroed before they are filled, on both sides;
 *   - changes append; a retired field becomes reserved_N. A layout change
 *     renames the map (endpoints -> endpoints_v2) so a pinned map of the old
 *     layout is never reused by mistake.
 *
 * Addresses are stored as 16 bytes so that IPv6 fits later without a new
 * layout: an IPv4 address is in addr[0] (network byte order), addr[1..3] = 0,
 * and family is OVX_AF_INET.
 */
#ifndef OVX_ABI_H_
#define OVX_ABI_H_

#include <linux/types.h>

#ifdef __cplusplus
#define OVX_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define OVX_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif
#define OVX_ASSERT_SIZE(type, size) \
	OVX_STATIC_ASSERT(sizeof(type) == (size), #type " size changed")
#define OVX_ASSERT_OFFSET(type, field, off) \
	OVX_STATIC_ASSERT(__builtin_offsetof(type, field) == (off), \
			  #type "." #field " offset changed")

/* ---- Names and limits ---------------------------------------------------- */

#define OVX_ABI_VERSION 1
#define OVX_BPFFS_DEFAULT "/sys/fs/bpf/ovx"

/* Pinned map names (also the BPF map names; at most 15 characters). */
#define OVX_MAP_ENDPOINTS "endpoints"
#define OVX_MAP_INTERFACES "interfaces"
#define OVX_MAP_VTEPS "vteps"
#define OVX_MAP_VTEP_VNIS "vtep_vnis"
#define OVX_MAP_NETWORKS "networks"
#define OVX_MAP_COUNTERS "counters"
#define OVX_MAP_EVENTS "events"
#define OVX_MAP_INTERFACE_SLOTS "interface_slots"
#define OVX_MAP_ENDPOINT_SLOTS "endpoint_slots2"
/* Its 2^16-slot layout before 2^18; emptied and unpinned on upgrade. */
#define OVX_MAP_ENDPOINT_SLOTS_OLD "endpoint_slots"
#define OVX_ENDPOINT_SLOTS_OLD (1U << 16)

/* max_entries are part of the ABI: changing one renames the map. */
#define OVX_MAX_ENDPOINTS 262144
#define OVX_MAX_INTERFACES 16384
#define OVX_INTERFACE_SLOTS 4096 /* a power of two */
/* One slot per possible `endpoints` entry: of 100,000 endpoints spread at
 * random ~83% hold a slot (2^16 slots: ~51%). */
#define OVX_ENDPOINT_SLOT_BITS 18
#define OVX_ENDPOINT_SLOTS (1U << OVX_ENDPOINT_SLOT_BITS)
#define OVX_MAX_VTEPS 16384
#define OVX_MAX_VTEP_VNIS 262144
#define OVX_MAX_NETWORKS 16384
#define OVX_EVENTS_BYTES (256 * 1024)

#define OVX_AF_INET 4
#define OVX_AF_INET6 6

#define OVX_VNI_MAX 0xffffffU
#define OVX_VXLAN_PORT_DEFAULT 4789
/* Outer UDP source port range (same default as the Linux vxlan driver's
 * ephemeral range would give; configurable at attach). */
#define OVX_SPORT_MIN_DEFAULT 49152
#define OVX_SPORT_MAX_DEFAULT 65535
/* Outer Ethernet + IPv4 + UDP + VXLAN. Container MTU = underlay MTU - this. */
#define OVX_VXLAN_OVERHEAD 50

/* ---- Verdicts and drop reasons -------------------------------------------
 *
 * One list for everything a program counts. Forward verdicts have codes
 * 1..31, drop reasons 32..63. Helpers return >= 0 or -OVX_DROP_*; only the
 * SEC() entry function turns a reason into a drop and counts it.
 *
 * X(code, NAME, "name-for-humans")
 */
#define OVX_FORWARD_VERDICTS(X)                                                \
	X(1, FWD_LOCAL, "forward-local")       /* same node, into peer */      \
	X(2, FWD_ENCAP, "forward-encap")       /* encapsulated to remote */    \
	X(3, FWD_DECAP, "forward-decap")       /* decapsulated, delivered */   \
	X(4, PASS_NOT_OVERLAY, "pass-not-overlay") /* not ours: untouched */  \
	X(5, ARP_REPLY, "arp-reply")           /* answered in BPF */           \
	X(6, FWD_DECAP_PEER, "forward-decap-peer") /* tc half of decap */

#define OVX_DROP_REASONS(X)                                                    \
	X(32, DROP_MALFORMED, "malformed")           /* truncated headers */   \
	X(33, DROP_IP_OPTIONS, "ip-options")         /* outer/inner IHL > 5 */ \
	X(34, DROP_FRAGMENT, "fragment")             /* VXLAN first fragment */\
	X(35, DROP_VXLAN_FLAGS, "vxlan-no-i-flag")   /* I flag missing */      \
	X(36, DROP_UNKNOWN_VNI, "unknown-vni")       /* no such network */     \
	X(37, DROP_UNKNOWN_VTEP, "unknown-vtep")     /* outer src not a VTEP */\
	X(38, DROP_VTEP_VNI, "vtep-not-in-vni")      /* VTEP hosts no such net */ \
	X(39, DROP_INNER_SRC, "inner-src-invalid")   /* not that VTEP's endpoint */ \
	X(40, DROP_NO_ENDPOINT, "no-endpoint")       /* dst not registered */  \
	X(41, DROP_CROSS_NETWORK, "cross-network")   /* dst in another net */  \
	X(42, DROP_SPOOF_MAC, "spoofed-mac")         /* src MAC not own */     \
	X(43, DROP_SPOOF_IP, "spoofed-ip")           /* src IP not own */      \
	X(44, DROP_UNKNOWN_IFACE, "unknown-interface") /* iface not an endpoint */ \
	X(45, DROP_UNSUPPORTED, "unsupported-proto") /* not IPv4/ARP inside */ \
	X(46, DROP_POLICY, "policy-denied")          /* policy said no */      \
	X(47, DROP_FIB, "fib-lookup-failed")         /* no route to VTEP */    \
	X(48, DROP_ENCAP, "encap-failed")            /* adjust_room failed */  \
	X(49, DROP_REDIRECT, "redirect-failed")      /* redirect refused */    \
	X(50, DROP_TUNNEL_FROM_ENDPOINT, "vxlan-from-container") /* reserved: policy issue */ \
	X(51, DROP_NOT_LOCAL, "not-local-endpoint")  /* decap dst not here */  \
	X(52, DROP_BAD_META, "bad-xdp-metadata")     /* tc half without xdp */ \
	X(53, DROP_ARP_INVALID, "arp-invalid")       /* ARP we will not answer */ \
	X(54, DROP_FRAG_NEEDED, "frag-needed")       /* encap > underlay MTU */ \
	X(55, DROP_KERNEL_DECAP, "kernel-decapsulated") /* tunnel GRO device */

#define OVX_REASON_ENUM_ENTRY(code, name, text) OVX_##name = code,
enum ovx_reason {
	OVX_REASON_NONE = 0,
	OVX_FORWARD_VERDICTS(OVX_REASON_ENUM_ENTRY)
	OVX_DROP_REASONS(OVX_REASON_ENUM_ENTRY)
	OVX_REASON_MAX = 64,
};
#undef OVX_REASON_ENUM_ENTRY
#define OVX_FIRST_DROP 32

/* Directions, for counters and events. */
#define OVX_DIR_EGRESS 0  /* from a container (TC on its host-side veth) */
#define OVX_DIR_INGRESS 1 /* from the underlay (XDP, then TC) */
#define OVX_DIR_MAX 4

/* counters: per-CPU array, index = dir * OVX_REASON_MAX + reason. */
#define OVX_COUNTER_INDEX(dir, reason) ((dir) * OVX_REASON_MAX + (reason))
#define OVX_MAX_COUNTERS (OVX_DIR_MAX * OVX_REASON_MAX)

struct ovx_counter {
	__u64 packets;
	__u64 bytes;
};
OVX_ASSERT_SIZE(struct ovx_counter, 16);

/* ---- endpoints: (VNI, IP) -> where it lives ------------------------------ */

struct ovx_endpoint_key {
	__u32 vni;
	__u8 family; /* OVX_AF_INET */
	__u8 pad[3];
	__be32 addr[4];
};
OVX_ASSERT_SIZE(struct ovx_endpoint_key, 24);
OVX_ASSERT_OFFSET(struct ovx_endpoint_key, family, 4);
OVX_ASSERT_OFFSET(struct ovx_endpoint_key, addr, 8);

#define OVX_EP_F_LOCAL (1U << 0)  /* on this node: deliver to ifindex */
#define OVX_EP_F_REMOTE (1U << 1) /* behind vtep: encapsulate */
/* The endpoint's network has no policy (not OVX_NET_F_POLICY_DENY): the
 * programs allow without reading `networks`. Without it they read the
 * network's flags, so a writer that never sets it stays correct. */
#define OVX_EP_F_NET_ALLOW_ALL (1U << 2)

struct ovx_endpoint {
	__u32 flags;    /* OVX_EP_F_* */
	__u32 ifindex;  /* host-side interface, local endpoints only */
	__u32 identity; /* security identity, for policy */
	__u8 mac[6];
	__u8 vtep_family; /* OVX_AF_INET for remote endpoints */
	__u8 pad;
	__be32 vtep[4]; /* remote endpoints only */
};
OVX_ASSERT_SIZE(struct ovx_endpoint, 36);
OVX_ASSERT_OFFSET(struct ovx_endpoint, ifindex, 4);
OVX_ASSERT_OFFSET(struct ovx_endpoint, identity, 8);
OVX_ASSERT_OFFSET(struct ovx_endpoint, mac, 12);
OVX_ASSERT_OFFSET(struct ovx_endpoint, vtep_family, 18);
OVX_ASSERT_OFFSET(struct ovx_endpoint, vtep, 20);

/* ---- interfaces: host-side ifindex -> the local endpoint behind it -------- */

struct ovx_interface {
	__u32 vni;
	__u32 identity;
	__u8 family;
	__u8 pad;
	__u8 mac[6];
	__be32 addr[4];
};
OVX_ASSERT_SIZE(struct ovx_interface, 32);
OVX_ASSERT_OFFSET(struct ovx_interface, identity, 4);
OVX_ASSERT_OFFSET(struct ovx_interface, family, 8);
OVX_ASSERT_OFFSET(struct ovx_interface, mac, 10);
OVX_ASSERT_OFFSET(struct ovx_interface, addr, 16);

/*
 * interface_slots: a copy of `interfaces` that the endpoint program reads
 * without a hash lookup. An array (mmap-able) of OVX_INTERFACE_SLOTS slots;
 * ifindex i may sit in slot i % OVX_INTERFACE_SLOTS, and an interface that
 * finds its slot taken lives in `interfaces` only. `interfaces` stays the
 * truth: a slot is written after it, emptied before it, and rebuilt from it
 * whenever the maps are opened for writing (maps/interface_slots.h).
 *
 * Writers hold the slot as a seqlock: seq odd while they write, +1 again
 * when done. A reader that sees seq odd or changed, or another ifindex,
 * uses `interfaces` instead.
 */
struct ovx_interface_slot {
	__u32 seq;     /* odd: being written */
	__u32 ifindex; /* 0: empty */
	struct ovx_interface iface;
};
OVX_ASSERT_SIZE(struct ovx_interface_slot, 40);
OVX_ASSERT_OFFSET(struct ovx_interface_slot, ifindex, 4);
OVX_ASSERT_OFFSET(struct ovx_interface_slot, iface, 8);

/*
 * endpoint_slots: a copy of the IPv4 entries of `endpoints` that the
 * programs read without a hash lookup, the same way: slot
 * ovx_endpoint_slot_index(vni, addr) of OVX_ENDPOINT_SLOTS, a seqlock per
 * slot, `endpoints` the truth (written before a slot is filled, changed
 * only after it is emptied), an endpoint whose slot is taken in `endpoints`
 * only. A slot holds (vni, addr) when tag == (vni | OVX_ENDPOINT_SLOT_USED).
 */
#define OVX_ENDPOINT_SLOT_USED (1U << 31) /* above every VNI */

struct ovx_endpoint_slot {
	__u32 seq; /* odd: being written */
	__u32 tag; /* vni | OVX_ENDPOINT_SLOT_USED; 0: empty */
	__be32 addr;
	struct ovx_endpoint ep;
};
OVX_ASSERT_SIZE(struct ovx_endpoint_slot, 48);
OVX_ASSERT_OFFSET(struct ovx_endpoint_slot, tag, 4);
OVX_ASSERT_OFFSET(struct ovx_endpoint_slot, addr, 8);
OVX_ASSERT_OFFSET(struct ovx_endpoint_slot, ep, 12);

/* Fibonacci hashing: the top bits of a multiply by 2^32/phi depend on every
 * bit of (vni, addr), so no two addresses of a /16 of one network share a
 * slot. */
static inline __u32 ovx_endpoint_slot_index(__u32 vni, __be32 addr)
{
	__u32 h = ((__u32)addr ^ (vni * 0x9e3779b1U)) * 0x9e3779b1U;

	return h >> (32 - OVX_ENDPOINT_SLOT_BITS);
}

/* ---- vteps: VTEP address -> node (allow-list for decapsulation) ---------- */

struct ovx_vtep_key {
	__u8 family;
	__u8 pad[3];
	__be32 addr[4];
};
OVX_ASSERT_SIZE(struct ovx_vtep_key, 20);
OVX_ASSERT_OFFSET(struct ovx_vtep_key, addr, 4);

struct ovx_vtep {
	__u32 node_id; /* stable hash of the node name, for humans and events */
	__u32 flags;   /* reserved, 0 */
};
OVX_ASSERT_SIZE(struct ovx_vtep, 8);

/* vtep_vnis: (VTEP, VNI) present when that VTEP hosts an endpoint of VNI. */
struct ovx_vtep_vni_key {
	__u32 vni;
	__u8 family;
	__u8 pad[3];
	__be32 addr[4];
};
OVX_ASSERT_SIZE(struct ovx_vtep_vni_key, 24);
OVX_ASSERT_OFFSET(struct ovx_vtep_vni_key, addr, 8);

struct ovx_vtep_vni {
	__u32 endpoints; /* how many of its endpoints are in VNI (informative) */
};
OVX_ASSERT_SIZE(struct ovx_vtep_vni, 4);

/* ---- networks: VNI -> settings ------------------------------------------- */

#define OVX_NET_F_POLICY_DENY (1U << 0) /* default deny; rules allow */

struct ovx_network {
	__u32 flags; /* OVX_NET_F_* */
	__u16 mtu;   /* container MTU */
	__u16 pad;
	__u32 reserved_0;
};
OVX_ASSERT_SIZE(struct ovx_network, 12);
OVX_ASSERT_OFFSET(struct ovx_network, mtu, 4);

/* ---- load-time configuration (const volatile in the programs) ------------ */

#define OVX_CFG_F_UDP_CSUM (1U << 0)      /* reserved: outer UDP checksum */
#define OVX_CFG_F_XDP_DELIVER (1U << 1)   /* decap delivery by XDP_REDIRECT */
#define OVX_CFG_F_TC_INGRESS (1U << 2)    /* tc_underlay checks, decaps; no XDP */

struct ovx_config {
	__u8 vtep_family;
	__u8 pad[3];
	__be32 vtep[4];        /* this node's VTEP */
	__u32 underlay_ifindex;
	__u16 vxlan_port;      /* host byte order */
	__u16 sport_min;       /* host byte order */
	__u16 sport_max;       /* host byte order */
	__u16 pad2;
	__u32 flags;           /* OVX_CFG_F_* */
};
OVX_ASSERT_SIZE(struct ovx_config, 36);
OVX_ASSERT_OFFSET(struct ovx_config, vtep, 4);
OVX_ASSERT_OFFSET(struct ovx_config, underlay_ifindex, 20);
OVX_ASSERT_OFFSET(struct ovx_config, vxlan_port, 24);
OVX_ASSERT_OFFSET(struct ovx_config, flags, 32);

/* XDP -> TC handoff in the packet's metadata area, after XDP decapsulated
 * and validated. Only XDP can write metadata, so the underlay cannot forge
 * it; the magic guards against another program's metadata. */
#define OVX_XDP_META_MAGIC 0x0b5e7a11U

struct ovx_xdp_meta {
	__u32 magic;
	__u32 ifindex; /* local endpoint's host-side interface */
};
OVX_ASSERT_SIZE(struct ovx_xdp_meta, 8);

/* ---- events: ring buffer of sampled drops --------------------------------- */

struct ovx_drop_event {
	__u64 timestamp_ns;
	__u32 reason; /* enum ovx_reason */
	__u32 dir;    /* OVX_DIR_* */
	__u32 ifindex;
	__u32 vni;
	__u32 src_identity;
	__u32 dst_identity;
	__u8 family;
	__u8 proto;
	__be16 sport;
	__be16 dport;
	__u16 pad;
	__be32 saddr[4];
	__be32 daddr[4];
};
OVX_ASSERT_SIZE(struct ovx_drop_event, 72);
OVX_ASSERT_OFFSET(struct ovx_drop_event, family, 32);
OVX_ASSERT_OFFSET(struct ovx_drop_event, saddr, 40);


/* ---- policy: (VNI, identities, proto, port) -> verdict --------------------
 *
 * An LPM trie, so a port range compiles into at most 2x16 prefixes instead
 * of one entry per port, and "any protocol" / "any port" are shorter
 * prefixes. Identity wildcards (a "*" selector) use OVX_IDENTITY_ANY; the
 * program looks up (src,dst), (src,ANY), (ANY,dst), (ANY,ANY) - only for the
 * first packet of a connection, conntrack caches the decision.
 * prefixlen counts bits after the prefixlen field: vni, src_identity and
 * dst_identity are always matched (96 bits), then proto (8), pad (8, always
 * 0) and the destination port (16, network byte order).
 */
#define OVX_MAP_POLICY "policy"
#define OVX_MAP_CONNTRACK "conntrack"
#define OVX_MAX_POLICY 65536
#define OVX_MAX_CONNTRACK 262144

#define OVX_IDENTITY_ANY 0    /* wildcard in policy keys, never an endpoint's */
#define OVX_IDENTITY_FIRST 256 /* allocated identities start here */

#define OVX_POLICY_PREFIX_ANY_PROTO 96
#define OVX_POLICY_PREFIX_ANY_PORT 112
#define OVX_POLICY_PREFIX_FULL 128

struct ovx_policy_key {
	__u32 prefixlen;
	__u32 vni;
	__u32 src_identity;
	__u32 dst_identity;
	__u8 proto; /* IPPROTO_TCP/UDP/ICMP; ignored when prefix stops before */
	__u8 pad;
	__be16 port; /* destination port */
};
OVX_ASSERT_SIZE(struct ovx_policy_key, 20);
OVX_ASSERT_OFFSET(struct ovx_policy_key, vni, 4);
OVX_ASSERT_OFFSET(struct ovx_policy_key, proto, 16);
OVX_ASSERT_OFFSET(struct ovx_policy_key, port, 18);

#define OVX_POLICY_F_ALLOW (1U << 0)

struct ovx_policy {
	__u32 flags;   /* OVX_POLICY_F_* */
	__u32 rule_id; /* stable hash of the rule name, for events */
};
OVX_ASSERT_SIZE(struct ovx_policy, 8);

/* conntrack: LRU hash keyed by the flow as first seen (original
 * direction); a reply matches with addresses and ports swapped. */
struct ovx_ct_key {
	__u32 vni;
	__u8 family;
	__u8 proto;
	__be16 sport; /* ICMP echo: the identifier; dport 0 */
	__be16 dport;
	__u16 pad;
	__be32 saddr[4];
	__be32 daddr[4];
};
OVX_ASSERT_SIZE(struct ovx_ct_key, 44);
OVX_ASSERT_OFFSET(struct ovx_ct_key, sport, 6);
OVX_ASSERT_OFFSET(struct ovx_ct_key, saddr, 12);

/* ovx_ct_entry.flags: how far a TCP connection has closed. A FIN from
 * each side, or a RST from either, makes it OVX_CT_F_CLOSED, and the entry
 * then lasts only 10 s without a packet (OVX_CT_IDLE_CLOSED_NS in
 * bpf/lib/policy.h), so a new connection on the same ports is decided by
 * the rules again. Each side's mark has a byte of its own (bit 0 of the
 * word's low byte, bit 0 of the next), which the programs set with a
 * one-byte store: two CPUs marking the two sides at once cannot undo each
 * other's mark, without an atomic OR. */
#define OVX_CT_F_FIN_ORIG (1U << 0)  /* FIN from the side that opened it */
#define OVX_CT_F_FIN_REPLY (1U << 8) /* FIN from the other side */
#define OVX_CT_F_CLOSED (OVX_CT_F_FIN_ORIG | OVX_CT_F_FIN_REPLY)

struct ovx_ct_entry {
	__u64 last_seen_ns;
	__u32 rule_id;
	__u32 flags; /* OVX_CT_F_* */
};
OVX_ASSERT_SIZE(struct ovx_ct_entry, 16);

/* Drop events are sampled: at most this many per second per CPU (and per
 * program) reach the events ring buffer; counters still count every drop.
 * The programs' load-time const volatile ovx_drop_events_per_sec (next to
 * ovx_cfg; 0 also means this default) sets it. */
#define OVX_DROP_EVENTS_PER_SEC_DEFAULT 100

#endif /* OVX_ABI_H_ */
