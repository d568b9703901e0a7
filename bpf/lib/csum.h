/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * csum.h - folding a ones'-complement sum into an IPv4 header checksum,
 * for the headers we build ourselves (no helper call).
 */
#ifndef OVX_BPF_CSUM_H_
#define OVX_BPF_CSUM_H_

#include <linux/types.h>

static __always_inline __u16 csum_fold32(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

#endif /* OVX_BPF_CSUM_H_ */
