// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * tc_tunnel_fence: tcx ingress on the loader's tunnel GRO device, a kernel
 * vxlan device in metadata mode that exists only so that the kernel has a
 * VXLAN socket on our port and merges (GROs) tunnelled TCP before
 * tc_underlay runs. That device must never deliver: tc_underlay consumes
 * every packet to the VTEP's port, so whatever the kernel decapsulated and
 * handed to this device went around ovx (VXLAN to another local address,
 * or tc_underlay detached by hand). Dropped and counted
 * (OVX_DIR_INGRESS, OVX_DROP_KERNEL_DECAP).
 */
/* First: the bpf/ headers below need its types. */
#include <linux/bpf.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>

#include "lib/counters.h"
#include "lib/maps.h"
#include "lib/parse.h"

SEC("tc")
int ovx_tc_tunnel_fence(struct __sk_buff *skb)
{
	struct bpf_tunnel_key key = {};
	struct ovx_trace t;
	struct cursor c;
	struct ethhdr *eth;
	struct iphdr *ip;

	trace_start(&t);
	t.ifindex = skb->ifindex;
	if (!bpf_skb_get_tunnel_key(skb, &key, sizeof(key), 0))
		t.vni = key.tunnel_id;
	cursor_init(&c, (void *)(long)skb->data, (void *)(long)skb->data_end);
	eth = cursor_pull(&c, sizeof(*eth));
	if (eth && eth->h_proto == bpf_htons(ETH_P_IP)) {
		ip = cursor_pull(&c, sizeof(*ip));
		if (ip)
			trace_ip(&t, ip);
	}
	count_drop(OVX_DIR_INGRESS, OVX_DROP_KERNEL_DECAP, skb->len, &t);
	return TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
