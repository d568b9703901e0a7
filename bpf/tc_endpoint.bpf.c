// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * tc_endpoint: tcx ingress on a container's host-side veth, so it sees
 * everything the container sends (direction OVX_DIR_EGRESS). Answers ARP,
 * enforces the container's own MAC/IP, refuses VXLAN from containers,
 * looks the destination up in the container's network only (isolation),
 * applies the network's policy, then delivers into a local peer or
 * encapsulates towards the remote VTEP.
 */
/* First: the bpf/ headers below need its types. */
#include <linux/bpf.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>

#include "lib/arp.h"
#include "lib/config.h"
#include "lib/counters.h"
#include "lib/endpoints.h"
#include "lib/interfaces.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/policy.h"
#include "lib/vxlan.h"

/* Enough linear data for Ethernet + an ARP body or an IPv4 header. */
#define OVX_EGRESS_PULL_LEN                                                    \
	(sizeof(struct ethhdr) + sizeof(struct arp_eth_ipv4))

/* UDP destination port at the cursor, even in a first fragment; 0 when
 * the header is not all there. */
static __always_inline __be16 tunnel_dport(struct cursor *c)
{
	struct udphdr *udp = c->pos;

	if ((void *)(udp + 1) > c->end)
		return 0;
	return udp->dest;
}

/* Returns the forward reason (> 0) or -OVX_DROP_*. */
static __always_inline int endpoint_egress(struct __sk_buff *skb,
					   struct ovx_trace *t)
{
	struct ovx_interface self; /* what lib/interfaces.h fills */
	struct ovx_endpoint dst;
	struct ovx_flow flow;
	struct cursor c;
	struct ethhdr *eth;
	struct iphdr *ip;
	__u32 ifindex = t->ifindex; /* skb->ifindex is two loads */
	__u32 vni;
	__u32 ports, hash;
	__u16 sport;
	__u8 tos;
	int ret;

	if (!interface_lookup(ifindex, &self))
		return -OVX_DROP_UNKNOWN_IFACE;
	vni = self.vni;
	t->vni = vni;
	t->src_identity = self.identity;

	/* Headers normally sit in the linear area already; pull if not. */
	if (skb->data + OVX_EGRESS_PULL_LEN > skb->data_end)
		bpf_skb_pull_data(skb, OVX_EGRESS_PULL_LEN);

	cursor_init(&c, (void *)(long)skb->data, (void *)(long)skb->data_end);
	eth = cursor_pull(&c, sizeof(*eth));
	if (!eth)
		return -OVX_DROP_MALFORMED;
	if (!mac_equal(eth->h_source, self.mac))
		return -OVX_DROP_SPOOF_MAC;

	if (eth->h_proto == bpf_htons(ETH_P_ARP)) {
		ret = arp_reply(&c, eth, &self);
		if (ret < 0)
			return ret;
		/* Out of our veth, i.e. back into the container. */
		if (bpf_redirect(ifindex, 0) != TC_ACT_REDIRECT)
			return -OVX_DROP_REDIRECT;
		return OVX_ARP_REPLY;
	}
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return -OVX_DROP_UNSUPPORTED;

	ip = cursor_pull(&c, sizeof(*ip));
	if (!ip || ip->version != 4 || ip->ihl < 5)
		return -OVX_DROP_MALFORMED;
	trace_ip(t, ip);
	if (ip->ihl != 5)
		return -OVX_DROP_IP_OPTIONS;
	if (ip->saddr != self.addr[0])
		return -OVX_DROP_SPOOF_IP;
	flow_parse(&c, ip, &flow);
	t->sport = flow.sport;
	t->dport = flow.dport;

	/* A container never speaks VXLAN to the tunnel port, whatever the
	 * destination (an underlay address is not an endpoint, so this comes
	 * before the lookup). Ports are 0 in fragments: check the header. */
	if (ip->protocol == IPPROTO_UDP &&
	    !(ip->frag_off & bpf_htons(OVX_IP_OFFSET)) &&
	    tunnel_dport(&c) == bpf_htons(ovx_cfg.vxlan_port))
		return -OVX_DROP_TUNNEL_FROM_ENDPOINT;

	/* Only the sender's own network is searched: a destination in any
	 * other network is simply not found (isolation). */
	if (!endpoint_lookup(vni, ip->daddr, &dst))
		return -OVX_DROP_NO_ENDPOINT;
	t->dst_identity = dst.identity;

	ret = endpoint_policy(&dst, vni, self.identity, dst.identity, &flow);
	if (ret < 0)
		return ret;

	if (dst.flags & OVX_EP_F_LOCAL) {
		/* The container may hold a stale neighbour entry: the
		 * registry's MAC is the one the peer accepts. */
		mac_copy(eth->h_dest, dst.mac);
		if (bpf_redirect_peer(dst.ifindex, 0) != TC_ACT_REDIRECT)
			return -OVX_DROP_REDIRECT;
		return OVX_FWD_LOCAL;
	}
	if (!(dst.flags & OVX_EP_F_REMOTE) || dst.vtep_family != OVX_AF_INET)
		return -OVX_DROP_NO_ENDPOINT;

	/* Everything needed from the old headers, before they move. */
	tos = ip->tos;
	hash = skb->hash;
	if (!hash) {
		/* Only packets without a socket's hash pay for the ports. */
		ports = l4_ports(&c, ip);
		hash = vxlan_flow_hash(ip->saddr, ip->daddr, ip->protocol,
				       ports);
	}
	sport = vxlan_sport(hash);
	/* Inner source is the container's own MAC (checked above). */
	ret = vxlan_encap(skb, dst.vtep[0], vni, tos, sport, ip->protocol,
			  dst.mac, self.mac);
	if (ret < 0)
		return ret;
	ret = vxlan_xmit(skb, dst.vtep[0]);
	if (ret < 0)
		return ret;
	return OVX_FWD_ENCAP;
}

SEC("tc")
int ovx_tc_endpoint(struct __sk_buff *skb)
{
	struct ovx_trace t;
	__u32 len = skb->len;
	int ret;

	trace_start(&t);
	t.ifindex = skb->ifindex;
	ret = endpoint_egress(skb, &t);
	if (ret < 0) {
		count_drop(OVX_DIR_EGRESS, -ret, len, &t);
		return TC_ACT_SHOT;
	}
	count(OVX_DIR_EGRESS, ret, len);
	return TC_ACT_REDIRECT;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
