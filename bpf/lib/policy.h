/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * policy.h - policy_check(), the one place both directions ask whether
 * src_identity may talk to dst_identity on (proto, dport). Returns 0 to
 * allow or -OVX_DROP_POLICY. For now everything inside a network is
 * allowed; the policy issue fills this in (maps, conntrack for replies).
 */
#ifndef OVX_BPF_POLICY_H_
#define OVX_BPF_POLICY_H_

#include "ovx_abi.h"

static __always_inline int policy_check(__u32 src_identity, __u32 dst_identity,
					__u8 proto, __u16 dport)
{
	(void)src_identity;
	(void)dst_identity;
	(void)proto;
	(void)dport;
	return 0;
}

#endif /* OVX_BPF_POLICY_H_ */
