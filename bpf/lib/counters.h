/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * counters.h - the one exit for verdicts: count() adds a packet and its
 * bytes per CPU under (dir, reason), for forward verdicts and drops alike;
 * count_drop() also reports the drop on the events ring buffer, sampled:
 * at most ovx_drop_events_per_sec (0: OVX_DROP_EVENTS_PER_SEC_DEFAULT)
 * events per second per CPU and program, so a flood costs one counter
 * update per packet, not a ring buffer write.
 */
#ifndef OVX_BPF_COUNTERS_H_
#define OVX_BPF_COUNTERS_H_

/* First: the bpf/ headers below need its types. */
#include <linux/bpf.h>

#include <linux/ip.h>

#include "lib/config.h"
#include "lib/maps.h"

/* Per-CPU budget of drop events in the current one-second window. Private
 * to each object (not pinned, not ABI). */
struct ovx_event_budget {
	__u64 window_start_ns;
	__u32 sent;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ovx_event_budget);
} event_budget SEC(".maps");

/* What a program learned about a packet before it decided; goes into the
 * drop event. Fields stay 0 when the packet did not get that far. */
struct ovx_trace {
	__u32 ifindex;
	__u32 vni;
	__u32 src_identity;
	__u32 dst_identity;
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

/* The trace's addresses and protocol, from an IPv4 header. */
static __always_inline void trace_ip(struct ovx_trace *t,
				     const struct iphdr *ip)
{
	t->saddr = ip->saddr;
	t->daddr = ip->daddr;
	t->proto = ip->protocol;
}

/* Every program starts its trace here: zeroed, and kept in its stack
 * slot (the empty asm takes its address), so each field is stored once
 * when it becomes known. Held in registers instead, clang sets each field
 * not yet known to zero again before every early return of the forward
 * path: ~10 ns of encap's 90 (docs/performance.md, "Trace in memory"). */
static __always_inline void trace_start(struct ovx_trace *t)
{
	__builtin_memset(t, 0, sizeof(*t));
	asm volatile("" : : "r"(t) : "memory");
}

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

/* 1 if this drop may be reported now; takes one from the CPU's budget. */
static __always_inline int event_sampled(__u64 now)
{
	__u32 rate = ovx_drop_events_per_sec;
	struct ovx_event_budget *b;
	__u32 zero = 0;

	if (!rate)
		rate = OVX_DROP_EVENTS_PER_SEC_DEFAULT;
	b = bpf_map_lookup_elem(&event_budget, &zero);
	if (!b)
		return 0;
	if (now - b->window_start_ns >= 1000000000ULL) {
		b->window_start_ns = now;
		b->sent = 0;
	}
	if (b->sent >= rate)
		return 0;
	b->sent++;
	return 1;
}

static __always_inline void count_drop(__u32 dir, __u32 reason, __u64 bytes,
				       const struct ovx_trace *t)
{
	struct ovx_drop_event *ev;
	__u64 now;

	count(dir, reason, bytes);
	now = bpf_ktime_get_ns();
	if (!event_sampled(now))
		return;
	/* Best effort: a full ring loses the event, never the count. */
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev)
		return;
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->timestamp_ns = now;
	ev->reason = reason;
	ev->dir = dir;
	ev->ifindex = t->ifindex;
	ev->vni = t->vni;
	ev->src_identity = t->src_identity;
	ev->dst_identity = t->dst_identity;
	ev->family = t->saddr || t->daddr ? OVX_AF_INET : 0;
	ev->proto = t->proto;
	ev->sport = t->sport;
	ev->dport = t->dport;
	ev->saddr[0] = t->saddr;
	ev->daddr[0] = t->daddr;
	bpf_ringbuf_submit(ev, 0);
}

#endif /* OVX_BPF_COUNTERS_H_ */
