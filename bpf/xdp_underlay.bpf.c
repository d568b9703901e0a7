// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * xdp_underlay: XDP on the underlay interface (direction OVX_DIR_INGRESS).
 * Anything that is not VXLAN to our VTEP and port passes untouched. VXLAN
 * must come from a registered VTEP, for a network that VTEP hosts, from
 * one of its endpoints, to a local endpoint; then it is decapsulated and
 * delivered: by default handed to tc_underlay through the metadata area
 * (XDP_PASS), or with OVX_CFG_F_XDP_DELIVER redirected into the veth.
 */
/* First: the bpf/ headers below need its types. */
#include <linux/bpf.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <xdp/xdp_helpers.h>

#include "lib/config.h"
#include "lib/counters.h"
#include "lib/decap.h"
#include "lib/maps.h"

/* In a libxdp dispatcher: early (lower priority runs first), and the next
 * program still sees everything we pass (non-overlay traffic). */
struct {
	__uint(priority, 10);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(ovx_xdp_underlay);

/* Returns the forward reason (> 0) or -OVX_DROP_*. */
static __always_inline int underlay_ingress(struct xdp_md *ctx,
					    struct ovx_trace *t)
{
	struct ovx_xdp_meta *meta;
	struct cursor c;
	__u32 ifindex = 0;
	int ret;

	cursor_init(&c, (void *)(long)ctx->data, (void *)(long)ctx->data_end);
	ret = vxlan_rx(&c, t, &ifindex);
	if (ret != OVX_FWD_DECAP)
		return ret;

	if (bpf_xdp_adjust_head(ctx, OVX_VXLAN_OVERHEAD))
		return -OVX_DROP_MALFORMED;

	if (ovx_cfg.flags & OVX_CFG_F_XDP_DELIVER) {
		if (bpf_redirect(ifindex, 0) != XDP_REDIRECT)
			return -OVX_DROP_REDIRECT;
		return OVX_FWD_DECAP;
	}

	/* Hand over to tc_underlay, which redirects into the peer. */
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta)))
		return -OVX_DROP_REDIRECT;
	meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 1) > (void *)(long)ctx->data)
		return -OVX_DROP_REDIRECT;
	meta->magic = OVX_XDP_META_MAGIC;
	meta->ifindex = ifindex;
	return OVX_FWD_DECAP;
}

SEC("xdp")
int ovx_xdp_underlay(struct xdp_md *ctx)
{
	struct ovx_trace t;
	__u32 len = ctx->data_end - ctx->data;
	int ret;

	trace_start(&t);
	ret = underlay_ingress(ctx, &t);
	if (ret < 0) {
		count_drop(OVX_DIR_INGRESS, -ret, len, &t);
		return XDP_DROP;
	}
	count(OVX_DIR_INGRESS, ret, len);
	if (ret == OVX_FWD_DECAP && (ovx_cfg.flags & OVX_CFG_F_XDP_DELIVER))
		return XDP_REDIRECT;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
