#!/usr/bin/env bash
# CPU cost of mapping N entries (default 100000) with an idiomatic mapping
# that uses most of the language (lookups, phone numbers, times, DNs,
# conditionals, lists), side by side with the floor (copy each attribute's
# first value into JSON and hash it). Prints membersync's figure, the
# floor's and their ratio; --markdown prints a row for docs/BENCHMARKS.md.
#
#   bench/mapping.sh [-n ENTRIES] [--markdown]
#
# No network, no directory: entries are built in memory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=100000
markdown=0
while (($#)); do
    case $1 in
    -n) n=$2; shift 2 ;;
    --markdown) markdown=1; shift ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "bench/mapping.sh: unknown argument $1" >&2; exit 64 ;;
    esac
done

BUILDDIR=${BUILDDIR:-$root/build} "$root/scripts/build.sh" >/dev/null
builddir=${BUILDDIR:-$root/build}
make -C "$builddir" -s --no-print-directory bench/mapping_bench

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'secret\n' >"$tmp/token" && chmod 600 "$tmp/token"
printf 'secret\n' >"$tmp/ldap.pw" && chmod 600 "$tmp/ldap.pw"
cat >"$tmp/bench.conf" <<EOT
source = {
  uri = "ldap://127.0.0.1:1"; bind_dn = "cn=x"; bind_password_file = "$tmp/ldap.pw";
  allow_plaintext_bind = true; base = "dc=example,dc=org";
};
lookups = {
  departments = ( ("2", 102), ("3", 103), ("7", 107), ("12", 112), ("Sales & Marketing", 120) );
};
targets = (
  # Most of the language at once: eleven fields.
  { name = "heavy"; driver = "rest"; url = "http://127.0.0.1:1/members";
    auth = { type = "bearer"; key_file = "$tmp/token"; };
    key = "userid";
    map = {
      userid = "\${uid | lower}";
      name = "\${coalesce(displayName, cn, uid) | trim | truncate(64)}";
      email = "\${mail | first | lower}";
      aliases = "\${mail[*] | lower | unique | sort}";
      mobile = "\${mobile | phone_e164('CN')}";
      departments = "\${departmentNumber[*] | lookup('departments') | join(',')}";
      title = "\${title | trim | default('staff')}";
      hired_at = "\${createTimestamp | gentime | unix_ms}";
      contractor = "\${employeeType == 'contractor'}";
      manager = "\${manager | rdn}";
      domain = "\${mail | email_domain}";
    };
    fields = { mobile = { pattern = "^\\\\+[0-9]{8,15}\$"; }; hired_at = { type = "integer"; }; };
  },
  # What most targets need: six fields, DingTalk-style.
  { name = "typical"; driver = "rest"; url = "http://127.0.0.1:1/members";
    auth = { type = "bearer"; key_file = "$tmp/token"; };
    key = "userid";
    map = {
      userid = "\${uid}";
      name = "\${displayName | default(cn)}";
      mobile = "\${mobile | phone_e164('CN')}";
      email = "\${mail | lower}";
      dept_id_list = "\${departmentNumber[*] | lookup('departments') | join(',')}";
      title = "\${title | trim}";
    };
  }
);
EOT
for target in typical heavy; do
    out=$("$builddir/bench/mapping_bench" "$tmp/bench.conf" "$target" "$n")
    get() { awk -v k="$1" '$1 == k { print $2 }' <<<"$out"; }
    valid=$(awk '$1 == "entries" { print $4 }' <<<"$out")
    mapping=$(get mapping_cpu_s)
    floor=$(get floor_cpu_s)
    ratio=$(get ratio)
    fields=$(awk '$1 == "entries" { print $6 }' <<<"$out")
    if ((markdown)); then
        echo "| $target: $n entries, $fields fields | $mapping s | $floor s | $ratio |"
    else
        echo "$target: $n entries ($valid valid, $fields fields): mapping ${mapping} s CPU;" \
            "floor ${floor} s CPU; ratio ${ratio}"
    fi
done
