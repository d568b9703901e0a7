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
#include "lib/endpoints.h"
#include "lib/maps.h"
#include "lib/parse.h"
#include "lib/policy.h"
#include "lib/vxlan.h"

/* Why a packet from vtep for vni is refused, in the order the checks are
 * documented (unknown VNI, unknown VTEP, VTEP without that VNI), or 0.
 * Only refused packets pay for these lookups: see vxlan_rx(). Inlined:
 * as a BPF subprogram its mere presence cost every packet ~15 ns here. */
static __always_inline int vtep_refusal(__u32 vni, __be32 vtep)
{
	struct ovx_vtep_vni_key vv = {};
	struct ovx_vtep_key vk = {};

	if (!bpf_map_lookup_elem(&networks, &vni))
		return -OVX_DROP_UNKNOWN_VNI;
	vk.family = OVX_AF_INET;
	vk.addr[0] = vtep;
	if (!bpf_map_lookup_elem(&vteps, &vk))
		return -OVX_DROP_UNKNOWN_VTEP;
	vv.vni = vni;
	vv.family = OVX_AF_INET;
	vv.addr[0] = vtep;
	if (!bpf_map_lookup_elem(&vtep_vnis, &vv))
		return -OVX_DROP_VTEP_VNI;
	return 0;
}

/* The VTEP's refusal if it has one, else reason. */
static __always_inline int refuse(__u32 vni, __be32 vtep, int reason)
{
	int refusal = vtep_refusal(vni, vtep);

	return refusal ? refusal : reason;
}

/* src is a remote endpoint behind vtep, with that MAC. */
static __always_inline int sent_by(const struct ovx_endpoint *src, __be32 vtep,
				   const __u8 *mac)
{
	return (src->flags & OVX_EP_F_REMOTE) &&
	       src->vtep_family == OVX_AF_INET && src->vtep[0] == vtep &&
	       mac_equal(src->mac, mac);
}

static __always_inline void trace_inner(struct ovx_trace *t,
					const struct iphdr *iip)
{
	trace_ip(t, iip);
	t->sport = 0;
	t->dport = 0;
}

/* Returns OVX_PASS_NOT_OVERLAY, OVX_FWD_DECAP (*ifindex: the destination
 * container's host-side interface; the inner destination MAC is rewritten
 * to the container's) or -OVX_DROP_*.
 *
 * Accepting takes two lookups: the inner source endpoint, which must sit
 * behind the outer source, and the inner destination. A remote endpoint in
 * the map implies its VTEP in `vteps` and (VTEP, VNI) in `vtep_vnis`: the
 * controller writes those first and removes them last. So the VTEP checks
 * run only on packets already refused, to name the reason. */
static __always_inline int vxlan_rx(struct cursor *c, struct ovx_trace *t,
				    __u32 *ifindex)
{
	struct ovx_endpoint src, dst;
	struct ovx_flow flow;
	struct ethhdr *eth, *ieth;
	struct iphdr *ip, *iip;
	struct udphdr *udp;
	struct vxlanhdr *vx;
	__be32 vtep;
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

	trace_ip(t, ip);
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
	vtep = ip->saddr;
	t->vni = vni;

	ieth = cursor_pull(c, sizeof(*ieth));
	if (!ieth)
		return refuse(vni, vtep, -OVX_DROP_MALFORMED);
	if (ieth->h_proto != bpf_htons(ETH_P_IP))
		return refuse(vni, vtep, -OVX_DROP_UNSUPPORTED);
	iip = cursor_pull(c, sizeof(*iip));
	if (!iip || iip->version != 4 || iip->ihl < 5)
		return refuse(vni, vtep, -OVX_DROP_MALFORMED);

	/* No injection from the underlay: the inner source must be an
	 * endpoint of this network behind exactly this VTEP. */
	if (iip->ihl != 5 || !endpoint_lookup(vni, iip->saddr, &src) ||
	    !sent_by(&src, vtep, ieth->h_source)) {
		ret = vtep_refusal(vni, vtep);
		if (ret)
			return ret;
		trace_inner(t, iip);
		return iip->ihl != 5 ? -OVX_DROP_IP_OPTIONS
				     : -OVX_DROP_INNER_SRC;
	}
	trace_inner(t, iip);
	t->src_identity = src.identity;

	if (!endpoint_lookup(vni, iip->daddr, &dst))
		return -OVX_DROP_NO_ENDPOINT;
	t->dst_identity = dst.identity;
	if (!(dst.flags & OVX_EP_F_LOCAL))
		return -OVX_DROP_NOT_LOCAL;
	*ifindex = dst.ifindex;
	t->ifindex = dst.ifindex;
	/* A foreign VTEP may not know the MAC; the container's stack only
	 * takes its own (XDP_REDIRECT path re-runs eth_type_trans). */
	mac_copy(ieth->h_dest, dst.mac);
	flow_parse(c, iip, &flow);
	t->sport = flow.sport;
	t->dport = flow.dport;

	ret = endpoint_policy(&dst, vni, src.identity, dst.identity, &flow);
	return ret < 0 ? ret : OVX_FWD_DECAP;
}

#endif /* OVX_BPF_DECAP_H_ */
