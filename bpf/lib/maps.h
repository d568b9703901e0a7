/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * maps.h - every map of the ABI (maps/abi/ovx_abi.h), BTF-typed and pinned
 * by name. Each object declares all of them; the loader points all objects
 * at one pin root, so they share one set of maps.
 */
#ifndef OVX_BPF_MAPS_H_
#define OVX_BPF_MAPS_H_

/* First: the bpf/ headers below need its types. */
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>

#include "ovx_abi.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OVX_MAX_ENDPOINTS);
	__type(key, struct ovx_endpoint_key);
	__type(value, struct ovx_endpoint);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} endpoints SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OVX_MAX_INTERFACES);
	__type(key, __u32); /* host-side ifindex */
	__type(value, struct ovx_interface);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} interfaces SEC(".maps");

/* The same as `interfaces`, by ifindex % OVX_INTERFACE_SLOTS; see ovx_abi.h
 * and lib/interfaces.h. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, OVX_INTERFACE_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE); /* written in place by the controller */
	__type(key, __u32);
	__type(value, struct ovx_interface_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} interface_slots SEC(".maps");

/* The IPv4 entries of `endpoints`, by ovx_endpoint_slot_index(); see
 * ovx_abi.h and lib/endpoints.h. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, OVX_ENDPOINT_SLOTS);
	__uint(map_flags, BPF_F_MMAPABLE); /* written in place by the controller */
	__type(key, __u32);
	__type(value, struct ovx_endpoint_slot);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} endpoint_slots2 SEC(".maps"); /* OVX_MAP_ENDPOINT_SLOTS */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OVX_MAX_VTEPS);
	__type(key, struct ovx_vtep_key);
	__type(value, struct ovx_vtep);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vteps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OVX_MAX_VTEP_VNIS);
	__type(key, struct ovx_vtep_vni_key);
	__type(value, struct ovx_vtep_vni);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} vtep_vnis SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, OVX_MAX_NETWORKS);
	__type(key, __u32); /* VNI */
	__type(value, struct ovx_network);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} networks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, OVX_MAX_COUNTERS);
	__type(key, __u32); /* OVX_COUNTER_INDEX(dir, reason) */
	__type(value, struct ovx_counter);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, OVX_EVENTS_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} events SEC(".maps");

/* Policy: LPM trie over (vni, identities, proto, port); see ovx_abi.h. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, OVX_MAX_POLICY);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* required for LPM tries */
	__type(key, struct ovx_policy_key);
	__type(value, struct ovx_policy);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} policy SEC(".maps");

/* Allowed flows of deny networks, original direction; LRU so a full table
 * forgets the idlest flow instead of refusing new ones. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, OVX_MAX_CONNTRACK);
	__type(key, struct ovx_ct_key);
	__type(value, struct ovx_ct_entry);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} conntrack SEC(".maps");

#endif /* OVX_BPF_MAPS_H_ */
