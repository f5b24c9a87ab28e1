#!/usr/bin/env bash
# Runs each of mdebot's fuzz targets in turn (go test -fuzz) and prints the
# final execs line of each. The seed corpora (f.Add and testdata/fuzz/) also
# run as plain tests in `go test ./...`; this script is the long run.
set -euo pipefail

usage() {
	cat <<'EOF'
Usage: scripts/fuzz.sh [-t DURATION] [-m DURATION] [TARGET...]

Runs every fuzz target (or only the named ones, e.g. FuzzParse) for
DURATION each, one after the other, from the repository root.

  -t DURATION  fuzzing time per target (default 60s; Go duration or Nx)
  -m DURATION  -fuzzminimizetime (default 5s; Go's 60s default stalls the
               run while each new corpus entry is minimized)
  -h           this help

A failing input is written to PKG/testdata/fuzz/TARGET/ by go test; the
script stops at the first failing target with go test's exit status.
Environment: GOFLAGS etc. pass through to go test.
EOF
}

# target package pairs: every fuzz target of the repository.
targets=(
	"FuzzParse ./handlers/"
	"FuzzVerifySignature ./bot/"
	"FuzzInteractivityPayload ./bot/"
	"FuzzInteractivityClick ./bot/"
	"FuzzGetPackageURI ./mde/"
	"FuzzHTTPError ./mde/"
	"FuzzRetryAfter ./mde/"
	"FuzzDecodeMachineAction ./mde/"
	"FuzzDecodeMachines ./mde/"
	"FuzzLiveResponseResultLink ./mde/"
	"FuzzDecodeLiveResponseAction ./mde/"
	"FuzzLiveResponsePath ./mde/"
	"FuzzParsers ./triage/"
	"FuzzZip ./triage/"
)

fuzztime=60s
minimizetime=5s
while getopts ":t:m:h" opt; do
	case "$opt" in
	t) fuzztime=$OPTARG ;;
	m) minimizetime=$OPTARG ;;
	h)
		usage
		exit 0
		;;
	:)
		echo "fuzz.sh: -$OPTARG needs a value" >&2
		usage >&2
		exit 2
		;;
	*)
		echo "fuzz.sh: unknown option -$OPTARG" >&2
		usage >&2
		exit 2
		;;
	esac
done
shift $((OPTIND - 1))

selected=()
if [ "$#" -eq 0 ]; then
	selected=("${targets[@]}")
else
	for want in "$@"; do
		found=
		for t in "${targets[@]}"; do
			if [ "${t%% *}" = "$want" ]; then
				selected+=("$t")
				found=1
			fi
		done
		if [ -z "$found" ]; then
			echo "fuzz.sh: unknown target $want (known: $(printf '%s ' "${targets[@]%% *}"))" >&2
			exit 2
		fi
	done
fi

cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT

summary=()
for t in "${selected[@]}"; do
	name=${t%% *}
	pkg=${t#* }
	echo "== $name ($pkg, $fuzztime)"
	echo "+ go test -run '^\$' -fuzz '^$name\$' -fuzztime $fuzztime -fuzzminimizetime $minimizetime $pkg"
	status=0
	go test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimizetime" "$pkg" 2>&1 | tee "$log" || status=$?
	# The last progress line carries the totals; its rate is of the final
	# interval only, so the average rate is worked out from execs and elapsed.
	last=$(grep -E '^fuzz: elapsed: .*execs:' "$log" | tail -n 1 || true)
	if [ -n "$last" ]; then
		execs=$(sed -E 's/.*execs: ([0-9]+).*/\1/' <<<"$last")
		secs=$(sed -E 's/^fuzz: elapsed: ([0-9hms]+),.*/\1/' <<<"$last")
		summary+=("$name: $last (average $(awk -v e="$execs" -v d="$secs" 'BEGIN {
			s = 0; n = d
			if (match(n, /[0-9]+h/)) { s += 3600 * substr(n, RSTART, RLENGTH - 1) }
			if (match(n, /[0-9]+m/)) { s += 60 * substr(n, RSTART, RLENGTH - 1) }
			if (match(n, /[0-9]+s/)) { s += substr(n, RSTART, RLENGTH - 1) }
			printf "%d", (s > 0 ? e / s : 0) }')/sec)")
	fi
	if [ "$status" -ne 0 ]; then
		echo "fuzz.sh: $name failed (exit $status); the failing input is under ${pkg}testdata/fuzz/$name/" >&2
		exit "$status"
	fi
done

echo
echo "== summary"
printf '%s\n' "${summary[@]}"
