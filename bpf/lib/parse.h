/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * parse.h - header parsing through a cursor and an end pointer, the same
 * for XDP and TC: cursor_pull() hands out the next header only if all of
 * it lies inside the packet, which is also what the verifier needs to see.
 */
#ifndef OVX_BPF_PARSE_H_
#define OVX_BPF_PARSE_H_

/* First: the bpf/ headers below need its types. */
#include <linux/bpf.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>

#include "ovx_abi.h"

#define OVX_IP_MF 0x2000
#define OVX_IP_DF 0x4000
#define OVX_IP_OFFSET 0x1fff

struct cursor {
	void *pos;
	void *end;
};

static __always_inline void cursor_init(struct cursor *c, void *data,
					void *data_end)
{
	c->pos = data;
	c->end = data_end;
}

/* Returns a pointer to the next len bytes and advances, or NULL. */
#define cursor_pull(c, len)                                                    \
	({                                                                     \
		void *__p = (c)->pos;                                          \
		if (__p + (len) > (c)->end)                                    \
			__p = NULL;                                            \
		else                                                           \
			(c)->pos = __p + (len);                                \
		__p;                                                           \
	})

struct arp_eth_ipv4 {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__be32 spa;
	__u8 tha[ETH_ALEN];
	__be32 tpa;
} __attribute__((packed));

/* Packet and map memory only (wide loads, alignment not guaranteed). */
static __always_inline int mac_equal(const __u8 *a, const __u8 *b)
{
	return *(const __u32 *)a == *(const __u32 *)b &&
	       *(const __u16 *)(a + 4) == *(const __u16 *)(b + 4);
}

/* Three 16-bit moves, not memcpy's six byte moves with shifts: every MAC
 * copied sits at an even offset, also those on the stack (struct
 * ovx_endpoint, ovx_interface, bpf_fib_lookup), where the verifier refuses
 * a misaligned access when the program loads. */
static __always_inline void mac_copy(__u8 *dst, const __u8 *src)
{
	__u16 *d = (__u16 *)dst;
	const __u16 *s = (const __u16 *)src;

	d[0] = s[0];
	d[1] = s[1];
	d[2] = s[2];
}

/* Three 16-bit zero stores (mac_copy()'s alignment). */
static __always_inline void mac_zero(__u8 *dst)
{
	__u16 *d = (__u16 *)dst;

	d[0] = 0;
	d[1] = 0;
	d[2] = 0;
}

/* The first 32 bits of a TCP or UDP header at the cursor (source and
 * destination port, as on the wire), 0 for other protocols, fragments
 * (only the first has ports; all must hash alike) or a short packet. Does
 * not advance. */
static __always_inline __u32 l4_ports(struct cursor *c, const struct iphdr *ip)
{
	__u32 *ports = c->pos;

	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return 0;
	if (ip->frag_off & bpf_htons(OVX_IP_MF | OVX_IP_OFFSET))
		return 0;
	if ((void *)(ports + 1) > c->end)
		return 0;
	return *ports;
}

/* Destination port (network order) out of l4_ports(). */
static __always_inline __be16 ports_dport(__u32 ports)
{
	return ((__be16 *)&ports)[1];
}

#endif /* OVX_BPF_PARSE_H_ */
