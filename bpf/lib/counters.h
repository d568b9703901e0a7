/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * counters.h - the one exit for verdicts: count() adds a packet and its
 * bytes per CPU under (dir, reason), for forward verdicts and drops alike;
 * count_drop() also reports the drop on the events ring buffer.
 */
#ifndef OVX_BPF_COUNTERS_H_
#define OVX_BPF_COUNTERS_H_

#include "lib/maps.h"

/* What a program learned about a packet before it decided; goes into the
 * drop event. Fields stay 0 when the packet did not get that far. */
struct ovx_trace {
	__u32 ifindex;
	__u32 vni;
	__u32 src_identity;
	__u32 dst_identity;
	__be32 saddr;
	__be32 daddr;
	__be16 dport;
	__u8 proto;
	__u8 pad;
};

static __always_inline void count(__u32 dir, __u32 reason, __u64 bytes)
{
	__u32 idx = OVX_COUNTER_INDEX(dir, reason);
	struct ovx_counter *c;

	c = bpf_map_lookup_elem(&counters, &idx);
	if (!c)
		return;
	/* Per-CPU value: no atomics needed. */
	c->packets++;
	c->bytes += bytes;
}

static __always_inline void count_drop(__u32 dir, __u32 reason, __u64 bytes,
				       const struct ovx_trace *t)
{
	struct ovx_drop_event *ev;

	count(dir, reason, bytes);
	/* Best effort: a full ring loses the event, never the count. */
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev)
		return;
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->timestamp_ns = bpf_ktime_get_ns();
	ev->reason = reason;
	ev->dir = dir;
	ev->ifindex = t->ifindex;
	ev->vni = t->vni;
	ev->src_identity = t->src_identity;
	ev->dst_identity = t->dst_identity;
	ev->family = t->saddr || t->daddr ? OVX_AF_INET : 0;
	ev->proto = t->proto;
	ev->dport = t->dport;
	ev->saddr[0] = t->saddr;
	ev->daddr[0] = t->daddr;
	bpf_ringbuf_submit(ev, 0);
}

#endif /* OVX_BPF_COUNTERS_H_ */
