# bench/lib/prog_rounds.jq - merges the ovx_prog_cost reports of several
# rounds (slurped, -s): per (case, endpoints), the round with the lowest
# ns_per_packet, with every round's figure in rounds_ns, in round order.
# Disturbance only ever adds time to a round: the first round after the
# network tests reads 35-100 ns high in every case, the trivial program
# included (runs B, E-H), even with the machine idle, and other engineers'
# work comes in bursts. So the least disturbed round is the program's cost;
# each round is itself the median of its runs. Map update rates come from
# the first round; call costs from the round whose calls cost least.
. as $r
| { programs: [ $r[0].programs[] as $p
      | [ $r[].programs[] | select(.case == $p.case and .endpoints == $p.endpoints) ] as $all
      | ($all | min_by(.ns_per_packet)) + {rounds_ns: [$all[].ns_per_packet]} ],
    map_rates: $r[0].map_rates,
    call_costs: ([$r[].call_costs | select(. != null)] | min_by(.helper_call_ns)) }
