// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* tc_underlay: tcx ingress on the underlay; second half of decap delivery. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "lib/config.h"
#include "lib/maps.h"
#include "lib/counters.h"

SEC("tc")
int ovx_tc_underlay(struct __sk_buff *skb)
{
	return TC_ACT_UNSPEC;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
