/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * config.h - the load-time configuration every program reads: ovx_cfg, a
 * const volatile struct ovx_config the loader fills between open and load
 * (our VTEP, the underlay ifindex, the VXLAN port, the source port range,
 * OVX_CFG_F_* feature bits), and ovx_drop_events_per_sec. The verifier
 * sees the values as constants.
 */
#ifndef OVX_BPF_CONFIG_H_
#define OVX_BPF_CONFIG_H_

#include "ovx_abi.h"

const volatile struct ovx_config ovx_cfg = {
	.vtep_family = OVX_AF_INET,
	.vxlan_port = OVX_VXLAN_PORT_DEFAULT,
	.sport_min = OVX_SPORT_MIN_DEFAULT,
	.sport_max = OVX_SPORT_MAX_DEFAULT,
};

/* Drop events per second per CPU that reach the ring buffer (counters.h);
 * 0 means OVX_DROP_EVENTS_PER_SEC_DEFAULT. Apart from ovx_cfg so that its
 * layout, which the loader reads back from loaded programs, stays as is. */
const volatile __u32 ovx_drop_events_per_sec = 0;

#endif /* OVX_BPF_CONFIG_H_ */
