// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * tc_underlay: tcx ingress on the underlay, the second half of decap
 * delivery (direction OVX_DIR_INGRESS). xdp_underlay has already checked
 * and decapsulated the packet and left struct ovx_xdp_meta in front of
 * it; this redirects it into the destination container's netns. Packets
 * without our metadata are none of our business: TC_ACT_UNSPEC (tcx
 * "next"), not counted, since XDP already counted them as passed.
 */
/* First: the bpf/ headers below need its types. */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>
#include <linux/if_packet.h>
#include <linux/pkt_cls.h>

#include "lib/config.h"
#include "lib/counters.h"
#include "lib/maps.h"

/* Returns the forward reason (> 0), 0 for "not ours", or -OVX_DROP_*. */
static __always_inline int underlay_deliver(struct __sk_buff *skb,
					    struct ovx_trace *t)
{
	struct ovx_xdp_meta *meta = (void *)(long)skb->data_meta;
	__u32 ifindex;

	if ((void *)(meta + 1) > (void *)(long)skb->data ||
	    meta->magic != OVX_XDP_META_MAGIC)
		return 0;
	ifindex = meta->ifindex;
	t->ifindex = ifindex;
	if (!bpf_map_lookup_elem(&interfaces, &ifindex))
		return -OVX_DROP_BAD_META;
	/* The inner dst MAC is not the underlay's: the stack marked it
	 * OTHERHOST, which the container's IP layer would drop. */
	bpf_skb_change_type(skb, PACKET_HOST);
	if (bpf_redirect_peer(ifindex, 0) != TC_ACT_REDIRECT)
		return -OVX_DROP_REDIRECT;
	return OVX_FWD_DECAP_PEER;
}

SEC("tc")
int ovx_tc_underlay(struct __sk_buff *skb)
{
	struct ovx_trace t = {};
	__u32 len = skb->len;
	int ret;

	ret = underlay_deliver(skb, &t);
	if (ret < 0) {
		count_drop(OVX_DIR_INGRESS, -ret, len, &t);
		return TC_ACT_SHOT;
	}
	if (ret == 0)
		return TC_ACT_UNSPEC;
	count(OVX_DIR_INGRESS, ret, len);
	return TC_ACT_REDIRECT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
