/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * csum.h - the IPv4 header checksum of a 20-byte header we build ourselves,
 * computed in registers (no helper call, no loop).
 */
#ifndef OVX_BPF_CSUM_H_
#define OVX_BPF_CSUM_H_

#include <linux/ip.h>

static __always_inline __u16 csum_fold32(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* iph->check must be 0 on entry. */
static __always_inline __u16 ipv4_hdr_csum(const struct iphdr *iph)
{
	const __u16 *w = (const __u16 *)iph;
	__u32 sum = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*iph) / 2); i++)
		sum += w[i];
	return csum_fold32(sum);
}

#endif /* OVX_BPF_CSUM_H_ */
