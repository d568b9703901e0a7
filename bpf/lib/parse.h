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

/* Bytewise: sources include the stack (bpf_fib_lookup's smac/dmac), where
 * the verifier refuses misaligned wide loads. */
static __always_inline void mac_copy(__u8 *dst, const __u8 *src)
{
	__builtin_memcpy(dst, src, ETH_ALEN);
}

/* Destination port of a TCP or UDP header at the cursor, 0 otherwise
 * (ports sit at the same place in both). Does not advance. */
static __always_inline __u16 l4_dport(struct cursor *c, __u8 proto)
{
	struct udphdr *l4 = c->pos;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return 0;
	if ((void *)(l4 + 1) > c->end)
		return 0;
	return bpf_ntohs(l4->dest);
}

#endif /* OVX_BPF_PARSE_H_ */
