// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * tc_underlay: tcx ingress on the underlay, the second half of decap
 * delivery (direction OVX_DIR_INGRESS). xdp_underlay has already checked
 * and decapsulated the packet and left struct ovx_xdp_meta in front of
 * it; this redirects it into the destination container's netns. Packets
 * without our metadata are none of our business: TC_ACT_UNSPEC (tcx
 * "next"), not counted, since XDP already counted them as passed.
 *
 * With OVX_CFG_F_TC_INGRESS there is no XDP on the underlay: this program
 * runs the same checks (lib/decap.h) and decapsulates itself. A veth
 * whose peer has no XDP program keeps its GSO features, so a 64 KB TCP
 * super-packet crosses the underlay whole and is decapsulated once.
 */
/* First: the bpf/ headers below need its types. */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>
#include <linux/if_packet.h>
#include <linux/pkt_cls.h>

#include "lib/config.h"
#include "lib/counters.h"
#include "lib/decap.h"
#include "lib/interfaces.h"
#include "lib/maps.h"

/* The running kernel's version, which libbpf fills in at load; the
 * verifier then drops the branch that version rules out. */
extern int LINUX_KERNEL_VERSION __kconfig;

/* Since 6.15 (c4327229 "bpf: Scrub packet on bpf_redirect_peer") the
 * helper scrubs the skb, which marks it PACKET_HOST: a frame the stack
 * marked OTHERHOST, which the container's IP layer would drop, needs
 * bpf_skb_change_type() first only on older kernels. */
static __always_inline void
mark_for_host_before_redirect_peer(struct __sk_buff *skb)
{
	if (LINUX_KERNEL_VERSION >= KERNEL_VERSION(6, 15, 0))
		return;
	if (skb->pkt_type != PACKET_HOST)
		bpf_skb_change_type(skb, PACKET_HOST);
}

/* Returns the forward reason (> 0), 0 for "not ours", or -OVX_DROP_*. */
static __always_inline int underlay_deliver(struct __sk_buff *skb,
					    struct ovx_trace *t)
{
	struct ovx_xdp_meta *meta = (void *)(long)skb->data_meta;
	struct ovx_interface iface;
	__u32 ifindex;

	if ((void *)(meta + 1) > (void *)(long)skb->data ||
	    meta->magic != OVX_XDP_META_MAGIC)
		return 0;
	ifindex = meta->ifindex;
	t->ifindex = ifindex;
	/* Its slot first: an array read the verifier inlines, where the
	 * `interfaces` hash lookup is a call (~30 ns on some machines). */
	if (!interface_lookup(ifindex, &iface))
		return -OVX_DROP_BAD_META;
	/* XDP rewrote the inner dst MAC, which is not the underlay's. */
	mark_for_host_before_redirect_peer(skb);
	if (bpf_redirect_peer(ifindex, 0) != TC_ACT_REDIRECT)
		return -OVX_DROP_REDIRECT;
	return OVX_FWD_DECAP_PEER;
}

/* Outer headers, inner Ethernet/IPv4 and the first 4 bytes of L4 (ports,
 * or the ICMP echo id): what vxlan_rx() reads, in the linear area. */
#define OVX_RX_PULL_LEN (OVX_ENCAP_HDR_LEN + sizeof(struct iphdr) + 8)

/* TC-only ingress: returns OVX_PASS_NOT_OVERLAY, the forward reason or
 * -OVX_DROP_*. */
static __always_inline int underlay_decap(struct __sk_buff *skb,
					  struct ovx_trace *t)
{
	struct cursor c;
	struct ethhdr *eth;
	__u8 macs[2 * ETH_ALEN];
	__u32 ifindex = 0;
	int ret;

	/* Headers usually are linear already; a short packet fails the
	 * pull and is judged on what it has. */
	if (skb->data + OVX_RX_PULL_LEN > skb->data_end)
		bpf_skb_pull_data(skb, OVX_RX_PULL_LEN);
	cursor_init(&c, (void *)(long)skb->data, (void *)(long)skb->data_end);
	ret = vxlan_rx(&c, t, &ifindex);
	if (ret != OVX_FWD_DECAP)
		return ret;
	/* Shrinking at the MAC layer keeps the outer Ethernet header: give
	 * it the inner one's addresses (destination already rewritten). */
	eth = (void *)(long)skb->data + OVX_VXLAN_OVERHEAD;
	if ((void *)(eth + 1) > (void *)(long)skb->data_end)
		return -OVX_DROP_MALFORMED;
	__builtin_memcpy(macs, eth, sizeof(macs));
	/* FIXED_GSO: the inner MSS is the segment size, as it was before
	 * encapsulation. */
	if (bpf_skb_adjust_room(skb, -(int)OVX_VXLAN_OVERHEAD, BPF_ADJ_ROOM_MAC,
				BPF_F_ADJ_ROOM_FIXED_GSO))
		return -OVX_DROP_MALFORMED;
	eth = (void *)(long)skb->data;
	if ((void *)(eth + 1) > (void *)(long)skb->data_end)
		return -OVX_DROP_MALFORMED;
	__builtin_memcpy(eth, macs, sizeof(macs));
	/* Only a frame the underlay took for another's MAC (promiscuous)
	 * is not HOST already. */
	mark_for_host_before_redirect_peer(skb);
	if (bpf_redirect_peer(ifindex, 0) != TC_ACT_REDIRECT)
		return -OVX_DROP_REDIRECT;
	return OVX_FWD_DECAP_PEER;
}

SEC("tc")
int ovx_tc_underlay(struct __sk_buff *skb)
{
	struct ovx_trace t;
	__u32 len = skb->len;
	int ret;

	trace_start(&t);
	if (ovx_cfg.flags & OVX_CFG_F_TC_INGRESS) {
		ret = underlay_decap(skb, &t);
		if (ret < 0) {
			count_drop(OVX_DIR_INGRESS, -ret, len, &t);
			return TC_ACT_SHOT;
		}
		count(OVX_DIR_INGRESS, ret, len);
		return ret == OVX_PASS_NOT_OVERLAY ? TC_ACT_UNSPEC
						   : TC_ACT_REDIRECT;
	}
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
