/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * interfaces.h - the local endpoint behind a host-side ifindex.
 *
 * Read from interface_slots when the ifindex has a slot: an array lookup
 * the verifier inlines, ~8 ns cheaper per packet than the `interfaces` hash
 * lookup (docs/performance.md, "Encap cost"). Anything else - no slot, a
 * slot being written, a slot of another ifindex - reads `interfaces`.
 */
#ifndef OVX_BPF_INTERFACES_H_
#define OVX_BPF_INTERFACES_H_

#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "lib/maps.h"
#include "lib/slots.h"

/*
 * What tc_endpoint reads of its sender's entry (IPv4 only): vni, identity,
 * mac and addr[0]. The lookups below fill those and leave the rest of out.
 */

/* From the slot of ifindex; 0 unless it is whole and ours (lib/slots.h). */
static __always_inline int interface_slot_read(__u32 ifindex,
						struct ovx_interface *out)
{
#ifdef __TARGET_ARCH_x86
	__u32 key = ifindex & (OVX_INTERFACE_SLOTS - 1);
	struct ovx_interface_slot *slot;
	__u32 seq;

	slot = bpf_map_lookup_elem(&interface_slots, &key);
	if (!slot)
		return 0;
	seq = OVX_READ_ONCE(slot->seq);
	if (seq & 1 || OVX_READ_ONCE(slot->ifindex) != ifindex)
		return 0;
	out->vni = OVX_READ_ONCE(slot->iface.vni);
	out->identity = OVX_READ_ONCE(slot->iface.identity);
	out->addr[0] = OVX_READ_ONCE(slot->iface.addr[0]);
	*(__u16 *)&out->mac[0] = OVX_READ_ONCE(*(__u16 *)&slot->iface.mac[0]);
	*(__u16 *)&out->mac[2] = OVX_READ_ONCE(*(__u16 *)&slot->iface.mac[2]);
	*(__u16 *)&out->mac[4] = OVX_READ_ONCE(*(__u16 *)&slot->iface.mac[4]);
	return OVX_READ_ONCE(slot->seq) == seq;
#else
	return 0;
#endif
}

/* The interface behind ifindex into out; 0 when it is not ours. */
static __always_inline int interface_lookup(__u32 ifindex,
					     struct ovx_interface *out)
{
	const struct ovx_interface *iface;

	if (interface_slot_read(ifindex, out))
		return 1;
	iface = bpf_map_lookup_elem(&interfaces, &ifindex);
	if (!iface)
		return 0;
	out->vni = iface->vni;
	out->identity = iface->identity;
	out->addr[0] = iface->addr[0];
	__builtin_memcpy(out->mac, iface->mac, sizeof(out->mac));
	return 1;
}

#endif /* OVX_BPF_INTERFACES_H_ */
