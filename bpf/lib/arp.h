/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * arp.h - the ARP responder: arp_reply() checks that a container's ARP
 * request is its own and asks for an endpoint of its network, then turns
 * the request into the reply in place. Nothing floods, nothing is learned.
 */
#ifndef OVX_BPF_ARP_H_
#define OVX_BPF_ARP_H_

/* First: the bpf/ headers below need its types. */
#include <linux/bpf.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <linux/if_ether.h>

#include "lib/endpoints.h"
#include "lib/maps.h"
#include "lib/parse.h"

/* From linux/if_arp.h, which drags in libc headers. */
#define OVX_ARPHRD_ETHER 1
#define OVX_ARPOP_REQUEST 1
#define OVX_ARPOP_REPLY 2

/* c is past the Ethernet header. Returns 0 or -OVX_DROP_*. */
static __always_inline int arp_reply(struct cursor *c, struct ethhdr *eth,
				     const struct ovx_interface *self)
{
	struct ovx_endpoint ep;
	struct arp_eth_ipv4 *arp;
	__be32 target;

	arp = cursor_pull(c, sizeof(*arp));
	if (!arp)
		return -OVX_DROP_MALFORMED;
	if (arp->htype != bpf_htons(OVX_ARPHRD_ETHER) ||
	    arp->ptype != bpf_htons(ETH_P_IP) || arp->hlen != ETH_ALEN ||
	    arp->plen != 4 || arp->op != bpf_htons(OVX_ARPOP_REQUEST))
		return -OVX_DROP_ARP_INVALID;
	if (!mac_equal(arp->sha, self->mac))
		return -OVX_DROP_SPOOF_MAC;
	if (arp->spa != self->addr[0])
		return -OVX_DROP_SPOOF_IP;
	target = arp->tpa;
	/* Gratuitous ARP / asking for itself: nothing to answer. */
	if (target == self->addr[0])
		return -OVX_DROP_ARP_INVALID;

	if (!endpoint_lookup(self->vni, target, &ep))
		return -OVX_DROP_ARP_INVALID;

	/* Request -> reply, in place: "target is at ep.mac". */
	mac_copy(eth->h_dest, self->mac);
	mac_copy(eth->h_source, ep.mac);
	arp->op = bpf_htons(OVX_ARPOP_REPLY);
	mac_copy(arp->tha, self->mac);
	arp->tpa = self->addr[0];
	mac_copy(arp->sha, ep.mac);
	arp->spa = target;
	return 0;
}

#endif /* OVX_BPF_ARP_H_ */
