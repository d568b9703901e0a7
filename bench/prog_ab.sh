#!/usr/bin/env bash
# bench/prog_ab.sh - per-packet cost of two or more builds of ovx, side by
# side: the A/B behind each per-packet design decision in
# docs/performance.md.
#
#   bench/prog_ab.sh [--rounds=N] [--endpoints=N] [--cases=LIST]
#                    [--iterations=N] NAME=BUILD_DIR NAME=BUILD_DIR...
#
# Each round times every build once, each in a fresh harness netns
# (lib/prog_cost.sh), starting one build further along the list each
# round, so the machine's slow phases and the order fall on all builds
# alike. Prints a Markdown table: per case, each build's
# min-max (median) ns over the rounds. A build directory needs only the
# ovx_prog_cost target, e.g. for a baseline:
#   git clone -q . /tmp/base && git -C /tmp/base checkout -q HEAD~1
#   cmake -S /tmp/base -B /tmp/base/build -DCMAKE_BUILD_TYPE=RelWithDebInfo
#   cmake --build /tmp/base/build -j2 --target ovx_prog_cost
#   bench/prog_ab.sh before=/tmp/base/build after=build
# Defaults: 10 rounds, 3 endpoints, every case, 20000 runs per case.
# Exit status: non-zero on bad arguments or when a program path is broken
# in any build (ovx_prog_cost checks each verdict), never on a number.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib/common.sh"
source "$here/lib/prog_cost.sh"

rounds=10
endpoints=3
cases=
iterations=20000
names=()
bins=()
for arg in "$@"; do
  case $arg in
    --rounds=*) rounds=${arg#*=} ;;
    --endpoints=*) endpoints=${arg#*=} ;;
    --cases=*) cases=${arg#*=} ;;
    --iterations=*) iterations=${arg#*=} ;;
    -h | --help) sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "prog_ab.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
    *=*) names+=("${arg%%=*}"); bins+=("${arg#*=}") ;;
    *) echo "prog_ab.sh: $arg is not NAME=BUILD_DIR (see --help)" >&2; exit 2 ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"
[[ $endpoints =~ ^[1-9][0-9]*$ ]] || die "--endpoints must be a positive integer"
[[ $iterations =~ ^[1-9][0-9]*$ ]] || die "--iterations must be a positive integer"
((${#names[@]} >= 2)) || die "give at least two builds as NAME=BUILD_DIR"
for i in "${!names[@]}"; do
  [[ ${names[i]} =~ ^[A-Za-z0-9._-]+$ ]] ||
    die "build name '${names[i]}': letters, digits, . _ - only"
  for j in $(seq 0 $((i - 1))); do
    [[ ${names[i]} != "${names[j]}" ]] || die "build name ${names[i]} given twice"
  done
done
for i in "${!names[@]}"; do
  bin=${bins[i]}/bench/ovx_prog_cost
  [[ -x $bin ]] || die "${names[i]}: no $bin (build the ovx_prog_cost target there)"
  bins[i]=$(realpath "$bin")
done
[[ $(id -u) -eq 0 ]] || die "run as root (namespaces, BPF programs)"
command -v jq >/dev/null || die "missing tool: jq (scripts/install-deps.sh)"

BENCH_TMP=$(mktemp -d /tmp/ovxab.XXXXXX)
BENCH_TMPDIRS+=("$BENCH_TMP")
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

extra=()
[[ -n $cases ]] && extra+=("--cases=$cases")
n=${#names[@]}
for r in $(seq "$rounds"); do
  # Round r starts at another build: a build timed right after another
  # read up to ~5 ns higher in some runs, helper floors (the same code in
  # every build) included.
  for k in $(seq 0 $((n - 1))); do
    i=$(((r - 1 + k) % n))
    out=$BENCH_TMP/${names[i]}-$r.json
    prog_cost_run "${bins[i]}" "$iterations" "$endpoints" "$out" "${extra[@]}"
    jq -c --arg build "${names[i]}" \
      '.programs[] | {build: $build, case, ns: .ns_per_packet}' "$out" \
      >>"$BENCH_TMP/samples.jsonl" || die "${names[i]}: unreadable report $out"
  done
  log "round $r of $rounds done"
done

names_json=$(printf '%s\n' "${names[@]}" | jq -R . | jq -sc .)
jq -rs --argjson names "$names_json" --argjson rounds "$rounds" \
  --argjson endpoints "$endpoints" '
  def median: sort | if length % 2 == 1 then .[length / 2 | floor]
    else (.[length / 2 - 1] + .[length / 2]) / 2 end;
  def fig: sort | "\(.[0] | floor)-\(.[-1] | floor) (\(median | floor))";
  . as $s
  | "Per-packet ns, min-max (median) of \($rounds) rounds, \($endpoints) endpoints:",
    "",
    "| case | \($names | join(" | ")) |",
    "|---|\($names | map("---:") | join("|"))|",
    ( [$s[].case] | reduce .[] as $c ([]; if index([$c]) then . else . + [$c] end)
      | .[] as $c
      | "| \($c) | \([$names[] as $n | [$s[] | select(.case == $c and .build == $n) | .ns] | fig] | join(" | ")) |" )
' "$BENCH_TMP/samples.jsonl"
