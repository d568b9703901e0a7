/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * policy.h - endpoint_policy(), the one place both directions ask whether a
 * packet may pass, policy_check() behind it for deny networks, and
 * flow_parse() which fills the struct ovx_flow they take. Networks without
 * OVX_NET_F_POLICY_DENY allow everything without a policy lookup. In a
 * deny network a fresh conntrack entry for the flow (original direction)
 * or its reverse (a reply) allows; otherwise the policy LPM trie decides,
 * once per connection, and an allowed flow gets a conntrack entry.
 */
#ifndef OVX_BPF_POLICY_H_
#define OVX_BPF_POLICY_H_

/* First: the bpf/ headers below need its types. */
#include <linux/bpf.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <linux/in.h>
#include <linux/ip.h>

#include "lib/maps.h"
#include "lib/parse.h"
#include "ovx_abi.h"

/* Idle time after which a conntrack entry no longer counts: the flow is
 * new again and policy decides (Cilium's defaults). A TCP connection seen
 * closing both ways (OVX_CT_F_CLOSED) keeps its entry 10 s, for the last
 * ACKs and retransmitted FINs. */
#define OVX_CT_IDLE_TCP_NS (21600ULL * 1000000000ULL)
#define OVX_CT_IDLE_OTHER_NS (60ULL * 1000000000ULL)
#define OVX_CT_IDLE_CLOSED_NS (10ULL * 1000000000ULL)

/* TCP header flags (byte 13 of the header). */
#define OVX_TCP_FIN 0x01
#define OVX_TCP_SYN 0x02
#define OVX_TCP_RST 0x04
#define OVX_TCP_ACK 0x10
#define OVX_TCP_FLAGS_OFF 13
/* last_seen is written at most once a second per entry: no shared cache
 * line bouncing between CPUs on every packet of a busy flow. */
#define OVX_CT_REFRESH_NS 1000000000ULL

/* The flow a packet belongs to, as conntrack keys it. ICMP echo: a request
 * has sport = identifier, dport = 0; a reply dport = identifier, sport = 0,
 * so a reply is exactly the reverse of its request. Other ICMP, fragments
 * (all fragments of a datagram alike) and short packets: ports 0. */
struct ovx_flow {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 tcp_flags; /* TCP: the header's flags; else 0 */
	__u8 pad[2];
};

/* <linux/icmp.h> drags in libc headers; the echo header is all we need. */
#define OVX_ICMP_ECHOREPLY 0
#define OVX_ICMP_ECHO 8

struct ovx_icmp_echo {
	__u8 type;
	__u8 code;
	__u16 csum;
	__be16 id;
	__be16 seq;
};

static __always_inline void flow_parse(struct cursor *c, const struct iphdr *ip,
				       struct ovx_flow *f)
{
	struct ovx_icmp_echo *icmp = c->pos;
	__u8 *tcp = c->pos;
	__u32 ports;

	f->saddr = ip->saddr;
	f->daddr = ip->daddr;
	f->proto = ip->protocol;
	f->sport = 0;
	f->dport = 0;
	f->tcp_flags = 0;
	if (ip->protocol != IPPROTO_ICMP) {
		ports = l4_ports(c, ip);
		f->sport = ((__be16 *)&ports)[0];
		f->dport = ports_dport(ports);
		/* l4_ports() is 0 for fragments, so is a port-less header. */
		if (ip->protocol == IPPROTO_TCP && ports &&
		    (void *)(tcp + OVX_TCP_FLAGS_OFF + 1) <= c->end)
			f->tcp_flags = tcp[OVX_TCP_FLAGS_OFF];
		return;
	}
	if (ip->frag_off & bpf_htons(OVX_IP_MF | OVX_IP_OFFSET))
		return;
	if ((void *)(icmp + 1) > c->end)
		return;
	if (icmp->type == OVX_ICMP_ECHO)
		f->sport = icmp->id;
	else if (icmp->type == OVX_ICMP_ECHOREPLY)
		f->dport = icmp->id;
}

/* One policy lookup for (src, dst): 1 allow, -1 deny entry, 0 no entry. */
static __always_inline int policy_lookup(struct ovx_policy_key *k, __u32 src,
					 __u32 dst, __u32 *rule_id)
{
	const struct ovx_policy *p;

	k->src_identity = src;
	k->dst_identity = dst;
	p = bpf_map_lookup_elem(&policy, k);
	if (!p)
		return 0;
	*rule_id = p->rule_id;
	return p->flags & OVX_POLICY_F_ALLOW ? 1 : -1;
}

/* The rules: (src,dst), (src,ANY), (ANY,dst), (ANY,ANY), the first entry
 * found decides (longest prefix within a pair). Returns 1 to allow. */
static __always_inline int policy_allows(__u32 vni, __u32 src_id, __u32 dst_id,
					 const struct ovx_flow *f,
					 __u32 *rule_id)
{
	struct ovx_policy_key k = {};
	int ret;

	k.prefixlen = OVX_POLICY_PREFIX_FULL;
	k.vni = vni;
	k.proto = f->proto;
	/* Only TCP and UDP have a port; ICMP rules are port-less. */
	if (f->proto == IPPROTO_TCP || f->proto == IPPROTO_UDP)
		k.port = f->dport;
	ret = policy_lookup(&k, src_id, dst_id, rule_id);
	if (!ret)
		ret = policy_lookup(&k, src_id, OVX_IDENTITY_ANY, rule_id);
	if (!ret)
		ret = policy_lookup(&k, OVX_IDENTITY_ANY, dst_id, rule_id);
	if (!ret)
		ret = policy_lookup(&k, OVX_IDENTITY_ANY, OVX_IDENTITY_ANY,
				    rule_id);
	return ret > 0;
}

/* The OVX_CT_F_* close marks a packet of f adds: a RST closes both ways,
 * a FIN its own side's (reply: sent by the side that did not open). */
static __always_inline __u32 ct_close_marks(const struct ovx_flow *f, int reply)
{
	if (f->tcp_flags & OVX_TCP_RST)
		return OVX_CT_F_CLOSED;
	if (f->tcp_flags & OVX_TCP_FIN)
		return reply ? OVX_CT_F_FIN_REPLY : OVX_CT_F_FIN_ORIG;
	return 0;
}

/* The byte of ovx_ct_entry.flags that holds bits [8n, 8n + 7]. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define OVX_CT_FLAGS_BYTE(n) (n)
#else
#define OVX_CT_FLAGS_BYTE(n) (3 - (n))
#endif

/* Sets the close marks in e, each with a store of its own byte only: a
 * read-modify-write of the word could undo the other side's mark, set by
 * another CPU in between. (An atomic OR needs -mcpu=v3, which costs XDP
 * decap ~9 ns; docs/policy.md.) */
static __always_inline void ct_mark(struct ovx_ct_entry *e, __u32 marks)
{
	volatile __u8 *flags = (volatile __u8 *)&e->flags;

	if (marks & OVX_CT_F_FIN_ORIG)
		flags[OVX_CT_FLAGS_BYTE(0)] = OVX_CT_F_FIN_ORIG;
	if (marks & OVX_CT_F_FIN_REPLY)
		flags[OVX_CT_FLAGS_BYTE(1)] = OVX_CT_F_FIN_REPLY >> 8;
}

/* A conntrack entry that is still fresh allows; refreshes it, and records
 * a FIN or RST (which restarts the idle time). A connection's first SYN on
 * the ports of a closed one is a new connection: the rules decide it, and
 * its entry replaces the old. */
static __always_inline int ct_hit(struct ovx_ct_entry *e, __u64 now,
				  const struct ovx_flow *f, int reply)
{
	__u32 marks = ct_close_marks(f, reply);
	__u32 flags = e->flags;
	__u64 last = e->last_seen_ns;
	__u64 idle;

	if ((flags & OVX_CT_F_CLOSED) == OVX_CT_F_CLOSED) {
		if ((f->tcp_flags & (OVX_TCP_SYN | OVX_TCP_ACK)) == OVX_TCP_SYN)
			return 0;
		idle = OVX_CT_IDLE_CLOSED_NS;
	} else if (f->proto == IPPROTO_TCP)
		idle = OVX_CT_IDLE_TCP_NS;
	else
		idle = OVX_CT_IDLE_OTHER_NS;
	if (now - last > idle)
		return 0;
	if (marks & ~flags) {
		ct_mark(e, marks & ~flags);
		e->last_seen_ns = now;
	} else if (now - last > OVX_CT_REFRESH_NS) {
		e->last_seen_ns = now;
	}
	return 1;
}

/* The conntrack key's addresses and ports: the flow as first seen, or
 * (reply) as its reply carries them. */
static __always_inline void ct_key_flow(struct ovx_ct_key *ct,
					const struct ovx_flow *f, int reply)
{
	ct->sport = reply ? f->dport : f->sport;
	ct->dport = reply ? f->sport : f->dport;
	ct->saddr[0] = reply ? f->daddr : f->saddr;
	ct->daddr[0] = reply ? f->saddr : f->daddr;
}

/* The deny-network decision (see the top of this file). A BPF-to-BPF call,
 * not inlined: inlined, its conntrack code (two ct_hit()s) cost XDP decap
 * in an open network 4-5 ns, which never runs it (decap-xdp 53-57 ns
 * against 48-53; called: 49-53, policy-cached unchanged). */
static __noinline int policy_check(__u32 vni, __u32 src_id, __u32 dst_id,
				   const struct ovx_flow *f)
{
	struct ovx_ct_entry fresh = {};
	struct ovx_ct_key ct = {};
	struct ovx_ct_entry *e;
	__u32 rule_id = 0;
	__u64 now;

	/* Coarse clock (jiffies): enough for idle timeouts, cheaper. */
	now = bpf_ktime_get_coarse_ns();
	ct.vni = vni;
	ct.family = OVX_AF_INET;
	ct.proto = f->proto;
	/* This flow as first seen (original direction)... */
	ct_key_flow(&ct, f, 0);
	e = bpf_map_lookup_elem(&conntrack, &ct);
	if (e && ct_hit(e, now, f, 0))
		return 0;
	/* ... or the reply of one. */
	ct_key_flow(&ct, f, 1);
	e = bpf_map_lookup_elem(&conntrack, &ct);
	if (e && ct_hit(e, now, f, 1))
		return 0;

	if (!policy_allows(vni, src_id, dst_id, f, &rule_id))
		return -OVX_DROP_POLICY;
	ct_key_flow(&ct, f, 0);
	fresh.last_seen_ns = now;
	fresh.rule_id = rule_id;
	fresh.flags = ct_close_marks(f, 0);
	/* Best effort: a failed insert only means the next packet asks the
	 * policy again. */
	bpf_map_update_elem(&conntrack, &ct, &fresh, BPF_ANY);
	return 0;
}

/* Whether a packet to or from ep, an endpoint of vni, may pass. An
 * endpoint of an open network (OVX_EP_F_NET_ALLOW_ALL) passes without
 * reading `networks`; otherwise only a deny network asks policy_check().
 * Returns 0, -OVX_DROP_UNKNOWN_VNI or -OVX_DROP_POLICY. */
static __always_inline int endpoint_policy(const struct ovx_endpoint *ep,
					   __u32 vni, __u32 src_id,
					   __u32 dst_id,
					   const struct ovx_flow *f)
{
	const struct ovx_network *net;

	if (ep->flags & OVX_EP_F_NET_ALLOW_ALL)
		return 0;
	net = bpf_map_lookup_elem(&networks, &vni);
	if (!net)
		return -OVX_DROP_UNKNOWN_VNI;
	if (!(net->flags & OVX_NET_F_POLICY_DENY))
		return 0;
	return policy_check(vni, src_id, dst_id, f);
}

#endif /* OVX_BPF_POLICY_H_ */
