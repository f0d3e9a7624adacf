#!/usr/bin/env bash
# Static analysis as CI runs it (issue 9): cppcheck, clang-tidy and
# scan-build, each of which must be clean.
#
#   scripts/static-analysis.sh [cppcheck|clang-tidy|scan-build|all]
#
# - cppcheck (2.10) over src/ and tests/targetsim/, with the config.h of a
#   scratch configure so it sees the code the build sees; suppressions
#   are inline (cppcheck-suppress, with the reason) or in
#   .cppcheck-suppressions (one reason per line).
# - clang-tidy (14) on every src/*.c with the checked-in .clang-tidy (all
#   enabled checks are errors), from a compile_commands.json that bear
#   records while building the scratch tree, so the dependencies' include
#   paths and defines are exactly the build's.
# - scan-build (clang's analyzer) over a fresh configure + make in a
#   second scratch tree, --status-bugs so any report fails.
#
# Each part prints its findings and fails (exit 1) when there are any;
# "all" runs every part, then fails if one did. Scratch trees live under
# $STATIC_WORKDIR (default: a temporary directory, removed afterwards);
# the scan-build HTML report is kept there when it found bugs. Parallelism:
# $STATIC_JOBS (default 2).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}
jobs=${STATIC_JOBS:-2}

case $what in
cppcheck | clang-tidy | scan-build | all) ;;
*)
	echo "usage: $0 [cppcheck|clang-tidy|scan-build|all]" >&2
	exit 64
	;;
esac

need() {
	local t
	for t in "$@"; do
		if ! command -v "$t" >/dev/null 2>&1; then
			echo "static-analysis: $t is not installed (scripts/install-deps.sh installs it)" >&2
			exit 1
		fi
	done
}

if [[ -n ${STATIC_WORKDIR:-} ]]; then
	work=$STATIC_WORKDIR
	mkdir -p "$work"
	keep=1
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/membersync-static.XXXXXX")
	keep=0
fi
scan_failed=0
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	if ((keep == 0 && scan_failed == 0)); then
		rm -rf "$work"
	fi
}
trap cleanup EXIT

# A clean clone has no configure yet (as in scripts/build.sh).
if [[ ! -x $root/configure || $root/configure.ac -nt $root/configure || $root/Makefile.am -nt $root/Makefile.in ]]; then
	(cd "$root" && ./autogen.sh >/dev/null 2>&1) || { (cd "$root" && ./autogen.sh); exit 1; }
fi

# The scratch tree cppcheck takes config.h from and clang-tidy takes the
# compile database from: configured once, built once under bear.
ccdb_ready=0
prepare_ccdb() {
	((ccdb_ready)) && return 0
	need bear make
	local b=$work/ccdb
	rm -rf "$b"
	mkdir -p "$b"
	echo "static-analysis: configuring and building $b (compile database)" >&2
	if ! (cd "$b" && "$root/configure" --quiet >configure.log 2>&1); then
		cat "$b/configure.log" >&2
		echo "static-analysis: configure failed" >&2
		return 1
	fi
	if ! (cd "$b" && bear --output compile_commands.json -- make -j"$jobs" --no-print-directory -s >build.log 2>&1); then
		cat "$b/build.log" >&2
		echo "static-analysis: the build failed" >&2
		return 1
	fi
	ccdb_ready=1
}

run_cppcheck() {
	need cppcheck
	prepare_ccdb || return 1
	local out=$work/cppcheck.txt
	# cppcheck does not read the json-c headers (we do not hand it system
	# include paths: slow, and findings there are not ours), so it is told
	# what the one iteration macro it cannot otherwise parse expands to.
	cat >"$work/json-c.cfg" <<'EOF'
<?xml version="1.0"?>
<def format="2">
  <define name="json_object_object_foreach(obj,key,val)" value="char *key = NULL; struct json_object *val = NULL; for (struct lh_entry *entry##key = lh_table_head(json_object_get_object(obj)), *entry_next##key = NULL; entry##key ? (key = (char *)lh_entry_k(entry##key), val = (struct json_object *)lh_entry_v(entry##key), entry_next##key = lh_entry_next(entry##key), 1) : 0; entry##key = entry_next##key)"/>
</def>
EOF
	echo "static-analysis: cppcheck $(cppcheck --version | sed 's/^Cppcheck //') on src/ tests/targetsim/" >&2
	local rc=0
	(cd "$root" && cppcheck --quiet --error-exitcode=1 --inline-suppr \
		--enable=warning,style,performance,portability --std=c11 \
		--library=posix --library="$work/json-c.cfg" \
		--suppressions-list="$root/.cppcheck-suppressions" \
		-j"$jobs" -DHAVE_CONFIG_H -I src -I "$work/ccdb" \
		--template='{file}:{line}:{column}: {severity}: {message} [{id}]' \
		src tests/targetsim) >"$out" 2>&1 || rc=$?
	if ((rc != 0)) || [[ -s $out ]]; then
		awk 1 "$out" # cppcheck does not end its last line
		echo "static-analysis: cppcheck: findings above" >&2
		return 1
	fi
	echo "static-analysis: cppcheck: clean" >&2
}

run_clang_tidy() {
	need clang-tidy xargs
	prepare_ccdb || return 1
	local logs=$work/clang-tidy
	rm -rf "$logs"
	mkdir -p "$logs"
	local files
	mapfile -t files < <(cd "$root" && find src -name '*.c' | sort)
	echo "static-analysis: $(clang-tidy --version | grep -o 'LLVM version [0-9.]*' | sed 's/LLVM/clang-tidy/') on ${#files[@]} files" >&2
	# One file per clang-tidy, its output in its own log, so parallel
	# runs do not interleave; the exit status says whether it had findings.
	export ct_root=$root ct_db=$work/ccdb ct_logs=$logs
	# shellcheck disable=SC2016
	printf '%s\n' "${files[@]}" | xargs -P"$jobs" -I{} bash -c '
		f=$1
		log=$ct_logs/$(echo "$f" | tr / _).log
		if ! clang-tidy -p "$ct_db" --config-file="$ct_root/.clang-tidy" --quiet "$ct_root/$f" >"$log" 2>&1; then
			touch "$log.failed"
		fi' _ {}
	local failed=("$logs"/*.failed)
	if [[ -e ${failed[0]} ]]; then
		local l
		for l in "${failed[@]}"; do
			# "N warnings generated." counts system-header noise that is
			# filtered out anyway; the findings are the rest.
			grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' "${l%.failed}" || true
		done
		echo "static-analysis: clang-tidy: findings above (in ${#failed[@]} files)" >&2
		return 1
	fi
	echo "static-analysis: clang-tidy: clean" >&2
}

run_scan_build() {
	need scan-build clang make
	local b=$work/scan report=$work/scan-report
	rm -rf "$b" "$report"
	mkdir -p "$b"
	echo "static-analysis: scan-build over a fresh configure and make in $b" >&2
	# Configured under scan-build so CC is its analyzing compiler wrapper,
	# which compiles with clang (our -Werror applies to clang's warnings
	# too).
	if ! (cd "$b" && scan-build --use-cc=clang "$root/configure" --quiet >configure.log 2>&1); then
		cat "$b/configure.log" >&2
		echo "static-analysis: configure under scan-build failed" >&2
		return 1
	fi
	local rc=0
	(cd "$b" && scan-build --use-cc=clang --status-bugs -o "$report" \
		make -j"$jobs" --no-print-directory -s) >"$b/scan.log" 2>&1 || rc=$?
	if ((rc != 0)); then
		grep -E 'warning:|error:|scan-build:' "$b/scan.log" || tail -n 50 "$b/scan.log"
		scan_failed=1
		echo "static-analysis: scan-build: findings above; HTML report in $report" >&2
		return 1
	fi
	echo "static-analysis: scan-build: clean" >&2
}

status=0
case $what in
cppcheck) run_cppcheck || status=1 ;;
clang-tidy) run_clang_tidy || status=1 ;;
scan-build) run_scan_build || status=1 ;;
all)
	run_cppcheck || status=1
	run_clang_tidy || status=1
	run_scan_build || status=1
	;;
esac
exit "$status"
