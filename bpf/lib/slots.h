/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * slots.h - what the seqlock readers of interface_slots (lib/interfaces.h)
 * and endpoint_slots2 (lib/endpoints.h) share.
 *
 * A reader copies a slot between two reads of its seq, which must match and
 * be even. Its loads are all volatile, so the compiler keeps their order,
 * and x86 does not reorder loads with loads, so no barrier is needed (the
 * objects are built for x86, -D__TARGET_ARCH_x86; elsewhere the readers are
 * compiled out and every lookup reads the hash).
 */
#ifndef OVX_BPF_SLOTS_H_
#define OVX_BPF_SLOTS_H_

#define OVX_READ_ONCE(x) (*(const volatile typeof(x) *)&(x))

#endif /* OVX_BPF_SLOTS_H_ */
