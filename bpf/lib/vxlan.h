/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * vxlan.h - RFC 7348 on the wire. TC side: vxlan_encap() grows the skb
 * (encap_room(): GSO-preserving encap flags for TCP, change_head for
 * datagrams) and writes outer Ethernet/IPv4/UDP/VXLAN plus the inner
 * Ethernet; vxlan_xmit() fills the outer MACs from the FIB (through a
 * per-CPU next-hop cache) and redirects out of the underlay. XDP side: the
 * header layout and vxlan_sport() shared by both ends' tests.
 */
#ifndef OVX_BPF_VXLAN_H_
#define OVX_BPF_VXLAN_H_

/* First: the bpf/ headers below need its types. */
#include <linux/bpf.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>

#include "lib/config.h"
#include "lib/csum.h"
#include "lib/parse.h"

#ifndef AF_INET
#define AF_INET 2
#endif

struct vxlanhdr {
	__be32 flags; /* I flag 0x08000000, the rest reserved */
	__be32 vni;   /* VNI << 8 */
};

#define OVX_VXLAN_F_I bpf_htonl(0x08000000)

/* Outer Ethernet + IPv4 + UDP + VXLAN, then the inner Ethernet. */
#define OVX_ENCAP_HDR_LEN                                                      \
	(sizeof(struct ethhdr) + sizeof(struct iphdr) +                        \
	 sizeof(struct udphdr) + sizeof(struct vxlanhdr) +                     \
	 sizeof(struct ethhdr))
_Static_assert(OVX_ENCAP_HDR_LEN == OVX_VXLAN_OVERHEAD + sizeof(struct ethhdr),
	       "VXLAN overhead");

#define OVX_IPV4_TTL 64

/* The flow hash for the source port when the skb carries none (a
 * connected socket's txhash usually is there): the inner addresses, then
 * protocol and ports, each folded in by a multiplication with an odd
 * constant (murmur3's), so every input bit reaches the top bits that
 * vxlan_sport() keeps. Three dependent multiplies; jhash's final mix took
 * ~35 dependent ALU ops (BPF has no rotate), ~5 ns more per packet, and
 * bpf_get_hash_recalc() runs the flow dissector (~250 ns). Deterministic,
 * unlike the kernel's seeded hash. */
static __always_inline __u32 vxlan_flow_hash(__be32 saddr, __be32 daddr,
					     __u8 proto, __u32 ports)
{
	__u32 h = (__u32)saddr * 0x9e3779b1U;

	h = (h ^ (__u32)daddr) * 0x85ebca6bU;
	h = (h ^ ports ^ proto) * 0xc2b2ae35U;
	return h ^ (h >> 16);
}

/* Flow hash -> [sport_min, sport_max] by multiply-shift, as the Linux
 * vxlan driver does: no division, uniform enough. */
static __always_inline __u16 vxlan_sport(__u32 hash)
{
	__u32 min = ovx_cfg.sport_min;
	__u32 max = ovx_cfg.sport_max;

	if (max <= min)
		return min;
	return min + (__u32)(((__u64)hash * (max - min + 1)) >> 32);
}

/* The outer IPv4 header (no options, DF, UDP). Its checksum is summed
 * from the 16-bit words in registers, as they go on the wire, instead of
 * being read back from the packet just written. */
static __always_inline void outer_ipv4_write(struct iphdr *ip, __u8 tos,
					     __u16 tot_len, __be32 daddr)
{
	const __be32 saddr = ovx_cfg.vtep[0];
	const __be16 ver_tos = bpf_htons(0x4500 | tos);
	const __be16 len = bpf_htons(tot_len);
	const __be16 frag = bpf_htons(OVX_IP_DF);
	const __be16 ttl_proto = bpf_htons(OVX_IPV4_TTL << 8 | IPPROTO_UDP);
	__u32 sum = (__u32)ver_tos + len + frag + ttl_proto +
		    ((__u32)saddr & 0xffff) + ((__u32)saddr >> 16) +
		    ((__u32)daddr & 0xffff) + ((__u32)daddr >> 16);
	__be16 *w = (__be16 *)ip;

	w[0] = ver_tos;
	ip->tot_len = len;
	ip->id = 0;
	ip->frag_off = frag;
	w[4] = ttl_proto;
	ip->check = csum_fold32(sum);
	ip->saddr = saddr;
	ip->daddr = daddr;
}

/* Room for the tunnel headers: OVX_VXLAN_OVERHEAD more bytes in front of
 * the inner IPv4 header, all of which vxlan_encap() then writes.
 *
 * A datagram (anything but TCP) takes bpf_skb_change_head(), ~20 ns
 * cheaper than bpf_skb_adjust_room() (docs/performance.md, "Encap cost").
 * TCP does not: its segments are clones (kept for retransmission), whose
 * header change_head would copy, and may be GSO, whose segmentation needs
 * the tunnel marks that only adjust_room's encap flags set. */
static __always_inline int encap_room(struct __sk_buff *skb, __u8 inner_proto)
{
	const __u64 flags =
		BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP |
		BPF_F_ADJ_ROOM_ENCAP_L2(sizeof(struct ethhdr)) |
		BPF_F_ADJ_ROOM_ENCAP_L2_ETH | BPF_F_ADJ_ROOM_FIXED_GSO;

	if (inner_proto != IPPROTO_TCP && !skb->gso_size)
		return bpf_skb_change_head(skb, OVX_VXLAN_OVERHEAD, 0);
	return bpf_skb_adjust_room(skb, OVX_VXLAN_OVERHEAD, BPF_ADJ_ROOM_MAC,
				   flags);
}

/* Grows the skb by OVX_VXLAN_OVERHEAD (encap_room()) and writes the
 * tunnel headers. inner_dmac/inner_smac become the inner Ethernet; the
 * outer MACs are left for vxlan_xmit(). inner_proto: the inner IPv4's.
 * Returns 0 or -OVX_DROP_ENCAP. */
static __always_inline int vxlan_encap(struct __sk_buff *skb, __be32 remote,
				       __u32 vni, __u8 tos, __u16 sport,
				       __u8 inner_proto, const __u8 *inner_dmac,
				       const __u8 *inner_smac)
{
	/* Inner IPv4 onwards is untouched; its length is the skb's less the
	 * original Ethernet header. */
	__u32 inner_l3 = skb->len - sizeof(struct ethhdr);
	/* A GSO skb past 64 KB (IPv4 BIG TCP) does not fit the 16-bit
	 * lengths: 0, as the kernel writes for it (iph_set_totlen()).
	 * Segmentation writes each segment's own lengths. */
	__u32 outer_l3 = inner_l3 + OVX_VXLAN_OVERHEAD;
	__u16 tot_len = outer_l3 > 0xffff ? 0 : outer_l3;
	struct ethhdr *eth, *ieth;
	struct iphdr *ip;
	struct udphdr *udp;
	struct vxlanhdr *vx;

	if (encap_room(skb, inner_proto))
		return -OVX_DROP_ENCAP;

	/* One bounds check for all five headers: five cursor_pull()s here
	 * compiled into ~50 instructions of selects. */
	eth = (void *)(long)skb->data;
	if ((void *)eth + OVX_ENCAP_HDR_LEN > (void *)(long)skb->data_end)
		return -OVX_DROP_ENCAP;
	ip = (void *)(eth + 1);
	udp = (void *)(ip + 1);
	vx = (void *)(udp + 1);
	ieth = (void *)(vx + 1);

	mac_copy(ieth->h_dest, inner_dmac);
	mac_copy(ieth->h_source, inner_smac);
	ieth->h_proto = bpf_htons(ETH_P_IP);

	vx->flags = OVX_VXLAN_F_I;
	vx->vni = bpf_htonl(vni << 8);

	udp->source = bpf_htons(sport);
	udp->dest = bpf_htons(ovx_cfg.vxlan_port);
	udp->len = bpf_htons(tot_len ? tot_len - sizeof(*ip) : 0);
	udp->check = 0;

	outer_ipv4_write(ip, tos, tot_len, remote);

	/* Outer MACs: zero until the FIB fills them; eth type is ours. */
	mac_zero(eth->h_dest);
	mac_zero(eth->h_source);
	eth->h_proto = bpf_htons(ETH_P_IP);
	return 0;
}

/* A resolved next hop towards a remote VTEP: what bpf_fib_lookup() said,
 * cached per CPU for a tenth of a second (nexthop_ttl()). A miss (route,
 * neighbour, the 64-byte parameter block) costs ~70 ns more than a hit
 * (docs/performance.md, "Next-hop cache"). Direct-mapped by the VTEP's
 * address; not pinned, so every load starts empty. A route or neighbour
 * change reaches encap within the TTL; an unresolved neighbour is never
 * cached (bpf_redirect_neigh resolves it every time). */
#define OVX_NEXTHOP_SLOTS 256

/* The kernel's tick rate, which libbpf reads from the kernel's config. The
 * clock is jiffies: bpf_jiffies64() is inlined into one load, where
 * bpf_ktime_get_coarse_ns() is a helper call (~6 ns of encap's ~90). */
extern int CONFIG_HZ __kconfig __weak;

/* 100 ms in jiffies; with the config unreadable (0), HZ = 100 is assumed:
 * a faster tick only makes the TTL shorter. Divides only on a miss. */
static __always_inline __u64 nexthop_ttl(void)
{
	/* Unsigned: BPF before v4 has no signed division. */
	return (__u64)(CONFIG_HZ > 0 ? CONFIG_HZ : 100) / 10;
}

struct ovx_nexthop {
	__u64 expires; /* jiffies */
	__be32 remote; /* 0: empty slot */
	__u32 ifindex;
	__u32 mtu;
	__u8 dmac[ETH_ALEN];
	__u8 smac[ETH_ALEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, OVX_NEXTHOP_SLOTS);
	__type(key, __u32);
	__type(value, struct ovx_nexthop);
} nexthops SEC(".maps");

/* Fibonacci hashing of the address onto the slots. */
static __always_inline __u32 nexthop_slot(__be32 remote)
{
	return ((__u32)remote * 2654435761U) >> 24;
}
_Static_assert(OVX_NEXTHOP_SLOTS == 1 << (32 - 24), "nexthop_slot() bits");

/* Outer MACs from hop, then out of its interface. The size check is
 * bpf_fib_lookup()'s own (is_skb_forwardable(): MTU + Ethernet + VLAN
 * header, GSO always fits), so a cached hop refuses what a lookup would. */
static __always_inline int xmit_via(struct __sk_buff *skb,
				    const struct ovx_nexthop *hop)
{
	struct ethhdr *eth;

	if (!skb->gso_size && skb->len > hop->mtu + ETH_HLEN + 4)
		return -OVX_DROP_FRAG_NEEDED;
	eth = (void *)(long)skb->data;
	if ((void *)(eth + 1) > (void *)(long)skb->data_end)
		return -OVX_DROP_ENCAP;
	mac_copy(eth->h_dest, hop->dmac);
	mac_copy(eth->h_source, hop->smac);
	return bpf_redirect(hop->ifindex, 0) == TC_ACT_REDIRECT
		       ? 0
		       : -OVX_DROP_REDIRECT;
}

/* A cache miss: an output FIB lookup from our VTEP on the underlay. A
 * resolved neighbour is written to hop and used; an unresolved one is left
 * to the kernel (bpf_redirect_neigh), as is everything when forwarding is
 * off on the underlay. Kept apart from vxlan_xmit() so that a cache hit
 * does not zero the 64-byte parameter block. */
static __always_inline int nexthop_resolve(struct __sk_buff *skb,
					   __be32 remote,
					   struct ovx_nexthop *hop, __u64 now)
{
	struct bpf_fib_lookup fib = {};
	struct bpf_redir_neigh nh = {};
	long ret;

	fib.family = AF_INET;
	fib.ipv4_src = ovx_cfg.vtep[0];
	fib.ipv4_dst = remote;
	fib.ifindex = ovx_cfg.underlay_ifindex;

	ret = bpf_fib_lookup(skb, &fib, sizeof(fib), BPF_FIB_LOOKUP_OUTPUT);
	switch (ret) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		hop->remote = remote;
		hop->ifindex = fib.ifindex;
		hop->mtu = fib.mtu_result;
		mac_copy(hop->dmac, fib.dmac);
		mac_copy(hop->smac, fib.smac);
		hop->expires = now + nexthop_ttl();
		return xmit_via(skb, hop);
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		nh.nh_family = AF_INET;
		nh.ipv4_nh = fib.ipv4_dst; /* the gateway, or remote itself */
		ret = bpf_redirect_neigh(fib.ifindex, &nh, sizeof(nh), 0);
		break;
	case BPF_FIB_LKUP_RET_FWD_DISABLED:
		/* bpf_fib_lookup() insists on forwarding being enabled on the
		 * underlay, which ovx itself does not need: let the kernel
		 * route and resolve the outer header instead (slower path). */
		ret = bpf_redirect_neigh(ovx_cfg.underlay_ifindex, NULL, 0, 0);
		break;
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		/* Checked on the encapsulated skb (tot_len 0): a GSO skb always
		 * fits, anything else larger than the underlay MTU does not. */
		return -OVX_DROP_FRAG_NEEDED;
	default:
		return -OVX_DROP_FIB;
	}
	return ret == TC_ACT_REDIRECT ? 0 : -OVX_DROP_REDIRECT;
}

/* Sends an encapsulated skb towards remote: through the cached next hop,
 * else nexthop_resolve(). Returns 0 or -OVX_DROP_FIB / -OVX_DROP_REDIRECT /
 * -OVX_DROP_FRAG_NEEDED / -OVX_DROP_ENCAP. */
static __always_inline int vxlan_xmit(struct __sk_buff *skb, __be32 remote)
{
	__u32 slot = nexthop_slot(remote);
	__u64 now = bpf_jiffies64();
	struct ovx_nexthop *hop;

	hop = bpf_map_lookup_elem(&nexthops, &slot);
	if (!hop) /* cannot happen: slot < OVX_NEXTHOP_SLOTS */
		return -OVX_DROP_FIB;
	if (hop->remote == remote && now < hop->expires)
		return xmit_via(skb, hop);
	return nexthop_resolve(skb, remote, hop, now);
}

#endif /* OVX_BPF_VXLAN_H_ */
