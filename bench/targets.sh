#!/usr/bin/env bash
# Per-driver throughput, side by side in one run: the target simulator's
# ceiling (wrk POSTing valid, unique members with 8 connections) and
# membersyncd pushing a directory to the same API with max_inflight 8,
# measured from the arrival times of all its requests (token fetches and
# lookups included) in the simulator's log. Prints a table
# with the ratio; --markdown prints it for docs/BENCHMARKS.md.
#
#   bench/targets.sh [-n USERS] [-d WRK_SECONDS] [--markdown] [DRIVER...]
#
# Loopback only; everything runs in a temp folder that is removed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
users=5000
seconds=10
markdown=0
drivers=()
while (($#)); do
    case $1 in
    -n) users=$2; shift 2 ;;
    -d) seconds=$2; shift 2 ;;
    --markdown) markdown=1; shift ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) drivers+=("$1"); shift ;;
    esac
done
((${#drivers[@]})) || drivers=(babelbird compai devin dingtalk rainbond rest scim)

"$root/scripts/install-deps.sh"
command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
BUILDDIR=${BUILDDIR:-$root/build} "$root/scripts/build.sh" >/dev/null
builddir=${BUILDDIR:-$root/build}
make -C "$builddir" -s --no-print-directory tests/targetsim/targetsim

export top_srcdir=$root MEMBERSYNCD=$builddir/membersyncd TARGETSIM=$builddir/tests/targetsim/targetsim
. "$root/tests/integration/lib.sh"
. "$root/tests/integration/daemon.sh"

# The simulator's counters without its request log (which holds every wrk
# request and takes long to serialise).
sim_counts() {
    curl -sS --noproxy '*' --max-time 120 "$SIM_URL/_sim/state?log=0" | jq -r "$@"
}

ms_setup
bash "$root/tests/data/gen-users.sh" -n "$users" >"$T/users.ldif"
ms_slapd_start "$T/users.ldif"
ms_sim_start --threads 2

# For each driver: the endpoint wrk hits, its headers, a body template,
# what in the simulator's state counts what wrk achieved (members stored,
# or accepted calls), and the membersyncd target for the same API.
bench_setup() {
    case $1 in
    rainbond)
        stored='.apis.rainbond.users | length'
        path=/openapi/v1/users
        headers="Authorization: $(<"$SIM_RAINBOND_KEYFILE")
Content-Type: application/json"
        body='{"nick_name":"%ID%","password":"Passw0rd1234","enterprise_id":"bench","email":"%ID%@bench.org"}'
        target=$(ms_rainbond_target bench | sed '/phone = /d')
        ;;
    rest)
        stored='.apis.rest.members | length'
        path=/rest/members
        headers="Authorization: Bearer $(<"$SIM_REST_TOKENFILE")
Content-Type: application/json"
        body='{"email":"%ID%@bench.org","name":"Bench %ID%"}'
        target=$(ms_rest_target bench)
        ;;
    dingtalk)
        local token
        token=$(curl -sS --noproxy '*' "$SIM_URL/dingtalk/gettoken?appkey=$(<"$SIM_SECRETS/dingtalk.appkey")&appsecret=$(<"$SIM_SECRETS/dingtalk.appsecret")" |
            jq -r .access_token)
        stored='.apis.dingtalk.users | length'
        path="/dingtalk/topapi/v2/user/create?access_token=$token"
        headers="Content-Type: application/json"
        body='{"name":"%ID%","mobile":"1%NUM%","dept_id_list":"1"}'
        target=$(cat <<EOT
  { name = "bench"; driver = "dingtalk"; url = "$SIM_URL/dingtalk"; rate_limit = 0;
    auth = { appkey_file = "$SIM_SECRETS/dingtalk.appkey"; appsecret_file = "$SIM_SECRETS/dingtalk.appsecret"; };
    map = { name = "\${displayName | default(cn)}"; mobile = "\${mobile}"; dept_id_list = "1"; userid = "\${uid}"; };
    max_retries = 3; }
EOT
        )
        ;;
    scim)
        stored='.apis.scim.users | length'
        path=/scim/Users
        headers="Authorization: Bearer $(<"$SIM_SECRETS/scim.token")
Content-Type: application/scim+json"
        body='{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%ID%","emails":[{"value":"%ID%@bench.org","primary":true}]}'
        target=$(cat <<EOT
  { name = "bench"; driver = "scim"; url = "$SIM_URL/scim";
    auth = { key_file = "$SIM_SECRETS/scim.token"; };
    map = { userName = "\${uid}"; displayName = "\${displayName | default(cn)}"; email = "\${mail | lower}"; };
    max_retries = 3; }
EOT
        )
        ;;
    compai)
        # Members come from invitations (the API has no other way to add
        # a person it does not know), so both sides use that endpoint.
        stored='.apis.compai.members | length'
        path=/compai/v1/people/invite
        headers="X-API-Key: $(<"$SIM_SECRETS/compai.key")
Content-Type: application/json"
        body='{"invites":[{"email":"%ID%@bench.org","roles":["employee"]}]}'
        target=$(cat <<EOT
  { name = "bench"; driver = "compai"; url = "$SIM_URL/compai"; invite = true; rate_limit = 0;
    auth = { key_file = "$SIM_SECRETS/compai.key"; };
    map = { email = "\${mail | lower}"; role = "employee"; };
    max_retries = 3; }
EOT
        )
        ;;
    devin)
        # Every directory user exists at Devin; membersyncd looks each one
        # up and adds them in batches of 100. The ceiling is that add
        # endpoint, re-adding one member (idempotent).
        local org=org-bench uid
        curl -sS --noproxy '*' -o /dev/null -X POST -d "{\"org_id\":\"$org\"}" "$SIM_URL/_sim/api/devin/add-org"
        ms_ldapsearch -b "$LDAP_PEOPLE" '(mail=*)' mail | awk '/^mail: / { print tolower($2) }' |
            jq -R . | jq -s '{emails: .}' >"$T/devin-users.json"
        uid=$(curl -sS --noproxy '*' -X POST --data-binary @"$T/devin-users.json" \
            "$SIM_URL/_sim/api/devin/add-user" | jq -r '.user_ids[0] // .users[0].user_id // empty')
        stored='[.apis.devin.add_calls[] | select(.status == 200)] | length'
        path="/devin/v2/enterprise/organizations/$org/members"
        headers="Authorization: Bearer $(<"$SIM_SECRETS/devin.key")
Content-Type: application/json"
        body="{\"user_ids\":[\"$uid\"],\"org_ids\":[\"$org\"]}"
        target=$(cat <<EOT
  { name = "bench"; driver = "devin"; url = "$SIM_URL/devin"; org_id = "$org";
    auth = { key_file = "$SIM_SECRETS/devin.key"; };
    map = { email = "\${mail | lower}"; };
    max_retries = 3; }
EOT
        )
        ;;
    babelbird)
        local cid secret jwt code token now b64 h pl sig
        cid=$(<"$SIM_SECRETS/babelbird.client_id")
        secret=$(<"$SIM_SECRETS/babelbird.client_secret")
        b64() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
        now=$(date +%s)
        h=$(printf '{"alg":"HS256","typ":"JWT"}' | b64)
        pl=$(printf '{"client_id":"%s","iat":%d,"exp":%d}' "$cid" "$now" $((now + 300)) | b64)
        sig=$(printf '%s.%s' "$h" "$pl" | openssl dgst -sha256 -hmac "$secret" -binary | b64)
        jwt="$h.$pl.$sig"
        code=$(curl -sS --noproxy '*' "$SIM_URL/babelbird/api/authorizeByJWT.do?response_type=code&client_id=$cid&jwt_token=$jwt" |
            jq -r .data.code)
        token=$(curl -sS --noproxy '*' -X POST -u "$cid:$secret" \
            "$SIM_URL/babelbird/api/token.do?grant_type=authorization_code&code=$code&redirect_uri=https://bench.example.org/cb" |
            jq -r .access_token)
        stored='.apis.babelbird.members | length'
        path=/babelbird/nd/api/enterprise/add_ent_mem
        headers="Authorization: Bearer $token
Content-Type: application/x-www-form-urlencoded"
        body='email=%ID%%40bench.org&password=Passw0rd1234&name=%ID%'
        target=$(cat <<EOT
  { name = "bench"; driver = "babelbird"; url = "$SIM_URL/babelbird";
    auth = { client_id = "$cid"; client_secret_file = "$SIM_SECRETS/babelbird.client_secret";
             redirect_uri = "https://bench.example.org/cb"; };
    map = { email = "\${mail | lower}"; password = "\${random_password(12)}"; name = "\${displayName | default(cn)}"; };
    max_retries = 3; }
EOT
        )
        ;;
    *)
        echo "bench: no benchmark for driver '$1'" >&2
        return 1
        ;;
    esac
    # Same concurrency as wrk's 8 connections, no retries to blur it.
    target=$(sed 's/max_retries = 3;/max_retries = 3; max_inflight = 8;/' <<<"$target")
    return 0
}

rows=()
for d in "${drivers[@]}"; do
    ms_sim_reset
    bench_setup "$d"
    before=$(sim_counts "$stored")
    ceiling=$(BENCH_BODY=$body BENCH_HEADERS=$headers wrk -t2 -c8 -d"${seconds}s" \
        -s "$root/bench/wrk/post.lua" "$SIM_URL$path" | awk '/^Requests\/sec:/ { print $2 }')
    # Only what the simulator really did counts: DingTalk and BabelBird
    # answer HTTP 200 to refusals too.
    done_by_wrk=$(($(sim_counts "$stored") - before))
    total=$(sim_counts '.stats.requests')
    if ((done_by_wrk * 100 < total * 99)); then
        echo "bench: only $done_by_wrk of $total wrk requests did their work for $d; the ceiling is not valid" >&2
        exit 1
    fi

    ms_sim_reset
    rm -rf "$T/state"
    ms_conf_write "$T/membersync.conf" "$target"
    start=$(date +%s.%N)
    "$MEMBERSYNCD" --once --foreground --config "$T/membersync.conf" >"$T/$d.log" 2>&1 ||
        { tail -5 "$T/$d.log" >&2; echo "bench: membersyncd failed for $d" >&2; exit 1; }
    wall=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
    read -r n rate < <(ms_sim_jq '[.log[] | .t_ms] |
        [length, (if length > 1 then (length - 1) * 1000 / (.[-1] - .[0]) else 0 end)] | @tsv')
    ratio=$(awk -v a="$rate" -v b="$ceiling" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    # The query string may hold a token: never print it.
    rows+=("$(printf '%s\t%s\t%.0f\t%s\t%.0f\t%s' "$d" "${path%%\?*}" "$ceiling" "$n" "$rate" "$ratio")")
    ms_log "$d: ceiling $ceiling req/s, membersyncd $rate req/s over $n requests ($wall s wall), ratio $ratio"
done

cores=$(nproc)
mem=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
if ((markdown)); then
    echo "Machine: $cores cores, $mem; $users directory users; wrk -t2 -c8 -d${seconds}s; membersyncd max_inflight 8."
    echo
    echo "| driver | endpoint | simulator ceiling (req/s) | membersyncd requests | membersyncd (req/s) | ratio |"
    echo "|---|---|---:|---:|---:|---:|"
    for r in "${rows[@]}"; do
        IFS=$'\t' read -r a b c e f g <<<"$r"
        echo "| $a | \`$b\` | $c | $e | $f | $g |"
    done
else
    printf '%-10s %-22s %12s %10s %12s %6s\n' driver endpoint ceiling requests membersyncd ratio
    for r in "${rows[@]}"; do
        IFS=$'\t' read -r a b c e f g <<<"$r"
        printf '%-10s %-22s %12s %10s %12s %6s\n' "$a" "$b" "$c" "$e" "$f" "$g"
    done
fi
