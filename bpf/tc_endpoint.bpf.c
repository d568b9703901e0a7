// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* tc_endpoint: tcx ingress on a container's host-side veth. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "lib/config.h"
#include "lib/maps.h"
#include "lib/counters.h"

SEC("tc")
int ovx_tc_endpoint(struct __sk_buff *skb)
{
	count(OVX_DIR_EGRESS, OVX_DROP_UNKNOWN_IFACE, skb->len);
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
