/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * counters.h - count a packet (and its bytes) per CPU under (dir, reason):
 * every verdict a SEC() entry returns, forward or drop, goes through here.
 */
#ifndef OVX_BPF_COUNTERS_H_
#define OVX_BPF_COUNTERS_H_

#include "lib/maps.h"

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

#endif /* OVX_BPF_COUNTERS_H_ */
