/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * endpoints.h - the endpoint (vni, IPv4 address), for every program.
 *
 * Read from endpoint_slots2 when the endpoint has a slot: an array lookup
 * the verifier inlines instead of a hash lookup over a 24-byte key, which
 * cost ~32 ns a packet here, twice per decapsulated packet
 * (docs/performance.md, "Endpoint slots"). Anything else - no slot, a slot
 * being written, a slot of another endpoint - reads `endpoints`.
 */
#ifndef OVX_BPF_ENDPOINTS_H_
#define OVX_BPF_ENDPOINTS_H_

#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "lib/maps.h"
#include "lib/slots.h"

#define OVX_ENDPOINT_WORDS (sizeof(struct ovx_endpoint) / sizeof(__u32))

/* From the slot of (vni, addr); 0 unless it is whole and that endpoint's. */
static __always_inline int endpoint_slot_read(__u32 vni, __be32 addr,
					       struct ovx_endpoint *out)
{
#ifdef __TARGET_ARCH_x86
	__u32 key = ovx_endpoint_slot_index(vni, addr);
	struct ovx_endpoint_slot *slot;
	__u32 *to = (__u32 *)out;
	const __u32 *from;
	__u32 seq;

	slot = bpf_map_lookup_elem(&endpoint_slots2, &key);
	if (!slot)
		return 0;
	seq = OVX_READ_ONCE(slot->seq);
	if (seq & 1 ||
	    OVX_READ_ONCE(slot->tag) != (vni | OVX_ENDPOINT_SLOT_USED) ||
	    OVX_READ_ONCE(slot->addr) != addr)
		return 0;
	from = (const __u32 *)&slot->ep;
#pragma unroll
	for (int i = 0; i < OVX_ENDPOINT_WORDS; i++)
		to[i] = OVX_READ_ONCE(from[i]);
	return OVX_READ_ONCE(slot->seq) == seq;
#else
	return 0;
#endif
}

/* From `endpoints`; its own function so that the key is built (and
 * zeroed) only when the slot did not answer. */
static __always_inline int endpoint_hash_read(__u32 vni, __be32 addr,
					       struct ovx_endpoint *out)
{
	struct ovx_endpoint_key key = {};
	const struct ovx_endpoint *ep;

	key.vni = vni;
	key.family = OVX_AF_INET;
	key.addr[0] = addr;
	ep = bpf_map_lookup_elem(&endpoints, &key);
	if (!ep)
		return 0;
	__builtin_memcpy(out, ep, sizeof(*out));
	return 1;
}

/* The endpoint (vni, addr) into out; 0 when there is none. */
static __always_inline int endpoint_lookup(__u32 vni, __be32 addr,
					    struct ovx_endpoint *out)
{
	return endpoint_slot_read(vni, addr, out) ||
	       endpoint_hash_read(vni, addr, out);
}

#endif /* OVX_BPF_ENDPOINTS_H_ */
