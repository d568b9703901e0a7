/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * decap.h - the receive checks of the underlay, shared by xdp_underlay
 * (XDP) and tc_underlay's TC-only ingress mode: vxlan_rx() walks a cursor
 * over outer Ethernet/IPv4/UDP/VXLAN and the inner Ethernet/IPv4 and
 * accepts a packet only from a registered VTEP, for a network that VTEP
 * hosts, from one of its endpoints (address and MAC), to a local
 * endpoint, within policy. The caller strips OVX_VXLAN_OVERHEAD bytes.
 */
#ifndef OVX_BPF_DECAP_H_
#define OVX_BPF_DECAP_H_

/* First: the bpf/ headers below need its types. */
#include <linux/bpf.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>

#include "lib/config.h"
#include "lib/counters.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/policy.h"
#include "lib/vxlan.h"

/* Returns OVX_PASS_NOT_OVERLAY, OVX_FWD_DECAP (*ifindex: the destination
 * container's host-side interface; the inner destination MAC is rewritten
 * to the container's) or -OVX_DROP_*. */
static __always_inline int vxlan_rx(struct cursor *c, struct ovx_trace *t,
				    __u32 *ifindex)
{
	struct ovx_endpoint_key key = {};
	struct ovx_vtep_vni_key vv = {};
	struct ovx_vtep_key vk = {};
	const struct ovx_endpoint *src, *dst;
	const struct ovx_network *net;
	struct ovx_flow flow;
	struct ethhdr *eth, *ieth;
	struct iphdr *ip, *iip;
	struct udphdr *udp;
	struct vxlanhdr *vx;
	__u32 vni;
	__u16 frag;
	int ret;

	eth = cursor_pull(c, sizeof(*eth));
	if (!eth || eth->h_proto != bpf_htons(ETH_P_IP))
		return OVX_PASS_NOT_OVERLAY;
	ip = cursor_pull(c, sizeof(*ip));
	if (!ip || ip->daddr != ovx_cfg.vtep[0] ||
	    ip->protocol != IPPROTO_UDP || ip->version != 4 || ip->ihl < 5)
		return OVX_PASS_NOT_OVERLAY;

	/* A later fragment carries no UDP header; its first fragment was
	 * dropped below if it was VXLAN, so it never reassembles. */
	frag = bpf_ntohs(ip->frag_off);
	if (frag & OVX_IP_OFFSET)
		return OVX_PASS_NOT_OVERLAY;

	/* Options move the UDP header: find it to know if it is ours. */
	udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > c->end)
		return -OVX_DROP_MALFORMED;
	if (udp->dest != bpf_htons(ovx_cfg.vxlan_port))
		return OVX_PASS_NOT_OVERLAY;

	t->saddr = ip->saddr;
	t->daddr = ip->daddr;
	t->proto = IPPROTO_UDP;
	t->sport = udp->source;
	t->dport = udp->dest;
	if (frag & OVX_IP_MF)
		return -OVX_DROP_FRAGMENT;
	if (ip->ihl != 5)
		return -OVX_DROP_IP_OPTIONS;

	c->pos = udp + 1;
	vx = cursor_pull(c, sizeof(*vx));
	if (!vx)
		return -OVX_DROP_MALFORMED;
	if (!(vx->flags & OVX_VXLAN_F_I))
		return -OVX_DROP_VXLAN_FLAGS;
	vni = bpf_ntohl(vx->vni) >> 8;
	t->vni = vni;

	net = bpf_map_lookup_elem(&networks, &vni);
	if (!net)
		return -OVX_DROP_UNKNOWN_VNI;
	vk.family = OVX_AF_INET;
	vk.addr[0] = ip->saddr;
	if (!bpf_map_lookup_elem(&vteps, &vk))
		return -OVX_DROP_UNKNOWN_VTEP;
	vv.vni = vni;
	vv.family = OVX_AF_INET;
	vv.addr[0] = ip->saddr;
	if (!bpf_map_lookup_elem(&vtep_vnis, &vv))
		return -OVX_DROP_VTEP_VNI;

	ieth = cursor_pull(c, sizeof(*ieth));
	if (!ieth)
		return -OVX_DROP_MALFORMED;
	if (ieth->h_proto != bpf_htons(ETH_P_IP))
		return -OVX_DROP_UNSUPPORTED;
	iip = cursor_pull(c, sizeof(*iip));
	if (!iip || iip->version != 4 || iip->ihl < 5)
		return -OVX_DROP_MALFORMED;
	t->saddr = iip->saddr;
	t->daddr = iip->daddr;
	t->proto = iip->protocol;
	t->sport = 0;
	t->dport = 0;
	if (iip->ihl != 5)
		return -OVX_DROP_IP_OPTIONS;

	/* No injection from the underlay: the inner source must be an
	 * endpoint of this network behind exactly this VTEP. */
	key.vni = vni;
	key.family = OVX_AF_INET;
	key.addr[0] = iip->saddr;
	src = bpf_map_lookup_elem(&endpoints, &key);
	if (!src || !(src->flags & OVX_EP_F_REMOTE) ||
	    src->vtep_family != OVX_AF_INET || src->vtep[0] != ip->saddr ||
	    !mac_equal(src->mac, ieth->h_source))
		return -OVX_DROP_INNER_SRC;
	t->src_identity = src->identity;

	key.addr[0] = iip->daddr;
	dst = bpf_map_lookup_elem(&endpoints, &key);
	if (!dst)
		return -OVX_DROP_NO_ENDPOINT;
	t->dst_identity = dst->identity;
	if (!(dst->flags & OVX_EP_F_LOCAL))
		return -OVX_DROP_NOT_LOCAL;
	*ifindex = dst->ifindex;
	t->ifindex = dst->ifindex;
	/* A foreign VTEP may not know the MAC; the container's stack only
	 * takes its own (XDP_REDIRECT path re-runs eth_type_trans). */
	mac_copy(ieth->h_dest, dst->mac);
	flow_parse(c, iip, &flow);
	t->sport = flow.sport;
	t->dport = flow.dport;

	ret = policy_check(net, vni, src->identity, dst->identity, &flow);
	return ret < 0 ? ret : OVX_FWD_DECAP;
}

#endif /* OVX_BPF_DECAP_H_ */
