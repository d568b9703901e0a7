// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* xdp_underlay: XDP on the underlay interface; VXLAN decapsulation. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "lib/config.h"
#include "lib/maps.h"
#include "lib/counters.h"

SEC("xdp")
int ovx_xdp_underlay(struct xdp_md *ctx)
{
	count(OVX_DIR_INGRESS, OVX_PASS_NOT_OVERLAY,
	      ctx->data_end - ctx->data);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
