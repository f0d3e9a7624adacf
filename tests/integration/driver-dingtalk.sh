#!/usr/bin/env bash
# The dingtalk driver end to end against real slapd and the DingTalk
# simulator: 500+ users delivered exactly once with one token for the
# whole run and nothing sent again; members already at DingTalk adopted
# with their userid; entries DingTalk refuses skipped with its own reason,
# logged once; a token expiring mid-run refetched once; a wrong appsecret
# pausing the target after one request; the app QPS limit (errcode 90018)
# and the per-address ban ({"wait":2}) obeyed to the millisecond; a 5xx
# storm retried until delivered once; the monthly quota (90020) pausing
# the target until midnight across runs; the example config valid; and no
# secret or token in logs or the state database.
set -euo pipefail
srcroot="${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}"
. "$srcroot/tests/integration/lib.sh"
. "$srcroot/tests/integration/daemon.sh"

ms_require_cmd sqlite3 curl jq
ms_setup

CREATE=/dingtalk/topapi/v2/user/create
TOKEN=/dingtalk/gettoken
LOOKUP=/dingtalk/topapi/v2/user/getbymobile

# 500 regular users and the 6 special ones of gen-users.sh (all valid for
# DingTalk), plus two the mapping refuses and two only DingTalk refuses.
bash "$srcroot/tests/data/gen-users.sh" -n 500 >"$T/users.ldif"
cat >>"$T/users.ldif" <<'EOT'

dn: uid=badmobile,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: badmobile
cn: Bad Mobile
sn: Mobile
mobile: call me

dn: uid=nomobile,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: nomobile
cn: No Mobile
sn: Mobile

dn: uid=shortmobile,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: shortmobile
cn: Short Mobile
sn: Mobile
mobile: 12345

dn: uid=nodept,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: nodept
cn: No Dept
sn: Dept
mobile: 13911112222
departmentNumber: 123456
EOT
ms_slapd_start "$T/users.ldif"
ms_sim_start

# dt_target [EXTRA_KEYS [APPSECRET_FILE]]
dt_target() {
    cat <<EOT
  { name = "dingtalk"; driver = "dingtalk"; url = "$SIM_URL/dingtalk";
    auth = { appkey_file = "$SIM_SECRETS/dingtalk.appkey";
             appsecret_file = "${2:-$SIM_SECRETS/dingtalk.appsecret}"; };
    retry_delay = 0.05; retry_max_delay = 0.2; retry_backoff = 0; retry_backoff_max = 0;
    ${1:-rate_limit = 0;}
    map = {
      name = "\${displayName | default(cn)}";
      mobile = "\${mobile}";
      dept_id_list = "\${departmentNumber[*] | join(',') | default('1')}";
      userid = "\${uid}";
      email = "\${mail | lower}";
      job_number = "\${employeeNumber}";
    };
  }
EOT
}
conf() {
    ms_conf_write "$T/membersync.conf" "$(dt_target "$@")"
}
# Sequence number of the simulator's last request.
last_seq() {
    ms_sim_jq '[.log[].seq] | max // 0'
}
# since SEQ [JQ_SELECT]: how many requests after SEQ match.
since() {
    ms_sim_jq --argjson s "$1" "[.log[] | select(.seq > \$s) | select(${2:-true})] | length"
}
path_is() {
    printf '.path == "%s"' "$1"
}
# add_users PREFIX COUNT FIRST_MOBILE: new directory users with mobiles
# FIRST_MOBILE, FIRST_MOBILE + 1, ...
add_users() {
    local prefix=$1 n=$2 mobile=$3 i
    for ((i = 1; i <= n; i++)); do
        printf 'dn: uid=%s%02d,%s\nobjectClass: inetOrgPerson\nuid: %s%02d\ncn: %s %02d\nsn: %s\nmobile: %d\n\n' \
            "$prefix" "$i" "$LDAP_PEOPLE" "$prefix" "$i" "$prefix" "$i" "$prefix" $((mobile + i - 1))
    done | ms_ldapadd
}
# Users at DingTalk whose mobile starts with PREFIX, and how many distinct.
users_with() {
    ms_sim_jq --arg p "$1" '[.apis.dingtalk.users[] | select(.mobile | startswith($p))] | length'
}
distinct_with() {
    ms_sim_jq --arg p "$1" '[.apis.dingtalk.users[] | select(.mobile | startswith($p)) | .mobile] | unique | length'
}
# Successful creates (errcode 0 cannot be seen in the log, but a create
# that is neither faulted nor throttled and added a user is one) per key.
creates_per_key_max() {
    ms_sim_jq --argjson s "$1" --arg c "$CREATE" \
        '[.log[] | select(.seq > $s and .path == $c and .fault == false and .throttled == false) | .key]
         | group_by(.) | map(length) | max // 0'
}
dt_post() {
    curl -sS -f --noproxy '*' --max-time 5 -X POST -H 'Content-Type: application/json' --data-binary "$2" \
        "$SIM_URL$1"
}

ms_log "the example configuration is valid"
mkdir "$T/example"
cp "$srcroot/etc/examples/dingtalk.conf" "$T/example/"
for f in ldap.secret dingtalk.appkey dingtalk.appsecret; do
    (umask 077 && printf 'dummy' >"$T/example/$f")
done
"$MEMBERSYNCD" --check-config -c "$T/example/dingtalk.conf" >"$T/example.out" 2>&1 ||
    ms_fail "the example configuration is refused: $(cat "$T/example.out")"

ms_log "members already at DingTalk before the first run"
token=$(curl -sS -f --noproxy '*' --max-time 5 -G --data-urlencode "appkey=$(<"$SIM_SECRETS/dingtalk.appkey")" \
    --data-urlencode "appsecret=$(<"$SIM_SECRETS/dingtalk.appsecret")" "$SIM_URL$TOKEN" | jq -r .access_token)
[[ -n "$token" && "$token" != null ]] || ms_error "no token from the simulator"
for body in \
    '{"name":"Legacy One","mobile":"13800000001","dept_id_list":"1","userid":"legacy1"}' \
    '{"name":"Legacy Two","mobile":"13800000002","dept_id_list":"1","userid":"legacy2"}' \
    '{"name":"Taken Userid","mobile":"13911110003","dept_id_list":"1","userid":"user0003"}' \
    '{"name":"Taken Email","mobile":"13911110004","dept_id_list":"1","userid":"legacy4","email":"user0004@example.org"}'; do
    [[ "$(dt_post "$CREATE?access_token=$token" "$body" | jq .errcode)" == 0 ]] || ms_error "cannot create $body"
done
ms_assert_eq 4 "$(ms_sim_jq '.apis.dingtalk.users | length')" "users created beforehand"

ms_log "first run: 500+ users, one token"
conf
seq=$(last_seq)
ms_once d-run1
ms_assert_eq 0 "$MS_RC" "first run exit status"
ms_assert_eq 1 "$(since "$seq" "$(path_is $TOKEN)")" "token requests in the first run"
ms_assert_eq 508 "$(since "$seq" "$(path_is $CREATE)")" "create requests (506 valid, 2 refused by DingTalk)"
ms_assert_eq 508 "$(ms_sim_jq --argjson s "$seq" --arg c "$CREATE" \
    '[.log[] | select(.seq > $s and .path == $c) | .key] | unique | length')" "distinct members sent"
ms_assert_eq 4 "$(since "$seq" "$(path_is $LOOKUP)")" "lookups of existing members"
ms_assert_eq 506 "$(ms_sim_jq '.apis.dingtalk.users | length')" "users at DingTalk"
ms_assert_eq 506 "$(ms_sim_jq '[.apis.dingtalk.users[].mobile] | unique | length')" "distinct mobiles at DingTalk"
ms_assert_eq 1 "$(ms_sim_jq '.apis.dingtalk.tokens_issued')" "tokens issued"
ms_assert_eq "张三" "$(ms_sim_jq '.apis.dingtalk.users[] | select(.userid == "zhangsan") | .name')" "CJK name"
ms_assert_eq "Smith, John" "$(ms_sim_jq '.apis.dingtalk.users[] | select(.userid == "jsmith") | .name')" \
    "DN with an escaped comma"
ms_assert_eq 505 "$(ms_state_sql "SELECT count(*) FROM members WHERE status = 'synced'")" "synced rows"
ms_assert_eq 5 "$(ms_state_sql "SELECT count(*) FROM members WHERE status = 'invalid'")" "invalid rows"
# user0004's email is legacy4's: DingTalk refuses the create, nobody has
# user0004's mobile, so the member is not there and must not count as synced.
ms_state_sql "SELECT last_error FROM members WHERE member_key = '13800000004'" | grep -q \
    "DingTalk says the user's mobile or email is taken, but no user has mobile .*: the email belongs to another user" \
    || ms_fail "user0004 (email taken by another user) is not invalid with the reason"
ms_assert_eq 0 "$(ms_state_sql "SELECT count(*) FROM members WHERE status IN ('pending', 'failed')")" \
    "pending or failed rows"
ms_assert_eq "user0100" "$(ms_state_sql "SELECT remote_id FROM members WHERE member_key = '13800000100'")" \
    "remote id of a created member"
ms_assert_eq "legacy1" "$(ms_state_sql "SELECT remote_id FROM members WHERE member_key = '13800000001'")" \
    "adopted id (mobile taken)"
ms_assert_eq "legacy2" "$(ms_state_sql "SELECT remote_id FROM members WHERE member_key = '13800000002'")" \
    "adopted id (mobile taken)"
ms_assert_eq "user0003" "$(ms_state_sql "SELECT remote_id FROM members WHERE member_key = '13800000003'")" \
    "adopted id (userid taken)"
ms_assert_eq "invalid|" "$(ms_state_sql "SELECT status, coalesce(remote_id, '') FROM members WHERE member_key = '13800000004'")" \
    "email taken by another user: invalid, not synced"
grep -q "dingtalk: 502 added, 3 already there, 0 updated, 3 rejected, 0 failed, 2 invalid" "$T/d-run1.log" ||
    ms_fail "first run summary"
grep -q "13800000001 (uid=user0001,$LDAP_PEOPLE) is already there; recorded as synced (already at DingTalk as userid legacy1)" \
    "$T/d-run1.log" || ms_fail "adoption not logged"
ms_assert_eq 1 "$(grep -c "12345 (uid=shortmobile,$LDAP_PEOPLE) was rejected and is skipped until it changes: DingTalk errcode 60103: 手机号码不合法" "$T/d-run1.log")" \
    "DingTalk's reason for the bad mobile, logged once"
ms_assert_eq 1 "$(grep -c "(uid=nodept,$LDAP_PEOPLE) was rejected and is skipped until it changes: DingTalk errcode 60003: 部门不存在" "$T/d-run1.log")" \
    "DingTalk's reason for the unknown department, logged once"
ms_assert_eq 1 "$(grep -c "skipping uid=badmobile,$LDAP_PEOPLE: mobile: value \"call me\" does not match the required format" "$T/d-run1.log")" \
    "the mapping's reason, logged once"
ms_assert_eq 1 "$(grep -c "skipping uid=nomobile,$LDAP_PEOPLE: mobile: required, but the mapping gives no value" "$T/d-run1.log")" \
    "missing mobile, logged once"
ms_assert_eq "DingTalk errcode 60103: 手机号码不合法" \
    "$(ms_state_sql "SELECT last_error FROM members WHERE member_key = '12345'")" "reason recorded"

ms_log "second run: nothing is sent, nothing logged again"
seq=$(last_seq)
ms_once d-run2
ms_assert_eq 0 "$MS_RC" "second run exit status"
ms_assert_eq 0 "$(since "$seq")" "requests in the second run"
if grep -Eq "skipping|was rejected|is already there" "$T/d-run2.log"; then
    ms_fail "the second run logged members again"
fi
grep -q "dingtalk: 0 added, 0 already there, 0 updated, 0 rejected, 0 failed, 5 invalid, 505 unchanged" "$T/d-run2.log" ||
    ms_fail "second run summary"

ms_log "a token that expires mid-run is fetched again once"
add_users tok 40 13700010001
conf "rate_limit = 20; burst = 1;"
seq=$(last_seq)
# Expire every token once ten of the new members are in.
(
    for ((i = 0; i < 200; i++)); do
        n=$(curl -sS -f --noproxy '*' --max-time 2 "$SIM_URL/_sim/state?log_since=$seq" |
            jq --arg c "$CREATE" '[.log[] | select(.path == $c)] | length') || n=0
        if ((n >= 10)); then
            dt_post /_sim/api/dingtalk/expire-tokens '{}' >/dev/null
            exit 0
        fi
        sleep 0.05
    done
    exit 1
) &
poller=$!
ms_once d-expiry
wait "$poller" || ms_fail "the tokens were never expired"
ms_assert_eq 0 "$MS_RC" "exit status after a token expired"
ms_assert_eq 2 "$(since "$seq" "$(path_is $TOKEN)")" "token requests (one refetch)"
ms_assert_eq 2 "$(ms_sim_jq '.apis.dingtalk.tokens_issued')" "tokens issued"
ms_assert_eq 41 "$(since "$seq" "$(path_is $CREATE)")" "create requests (one refused as expired)"
ms_assert_eq 40 "$(distinct_with 1370001)" "new members delivered"
ms_assert_eq 40 "$(users_with 1370001)" "no member created twice"
grep -q "the API refused our token; fetching a new one" "$T/d-expiry.log" || ms_fail "refresh not logged"

ms_log "a token expiring under several requests in flight is fetched again once"
add_users par 40 13700070001
conf "max_inflight = 4;"
curl -sS --noproxy '*' --max-time 5 -o /dev/null -X POST -d '{"ms":100}' "$SIM_URL/_sim/latency"
seq=$(last_seq)
(
    for ((i = 0; i < 200; i++)); do
        n=$(curl -sS -f --noproxy '*' --max-time 2 "$SIM_URL/_sim/state?log_since=$seq" |
            jq --arg c "$CREATE" '[.log[] | select(.path == $c)] | length') || n=0
        if ((n >= 10)); then
            dt_post /_sim/api/dingtalk/expire-tokens '{}' >/dev/null
            exit 0
        fi
        sleep 0.02
    done
    exit 1
) &
poller=$!
ms_once d-expiry-parallel
wait "$poller" || ms_fail "the tokens were never expired"
curl -sS --noproxy '*' --max-time 5 -o /dev/null -X POST -d '{"ms":0}' "$SIM_URL/_sim/latency"
ms_assert_eq 0 "$MS_RC" "exit status after a token expired under load"
ms_assert_eq 2 "$(since "$seq" "$(path_is $TOKEN)")" "token requests (one refetch for all in flight)"
ms_assert_eq 40 "$(users_with 1370007)" "every member delivered once"
refused=$(($(since "$seq" "$(path_is $CREATE)") - 40))
if ((refused < 1 || refused > 4)); then
    ms_fail "$refused creates refused as expired (1 to max_inflight expected)"
fi

ms_log "a wrong appsecret pauses the target after one request"
add_users wrong 5 13700020001
(umask 077 && printf 'not-the-secret' >"$T/wrong.appsecret")
conf "" "$T/wrong.appsecret"
seq=$(last_seq)
ms_once d-wrongkey
ms_assert_eq 1 "$MS_RC" "exit status with a wrong appsecret"
ms_assert_eq 1 "$(since "$seq")" "requests with a wrong appsecret"
ms_assert_eq 1 "$(since "$seq" "$(path_is $TOKEN)")" "the one request was the token request"
grep -q "dingtalk: paused for the rest of this cycle: cannot get an access token: wrong appkey or appsecret: DingTalk's gettoken answered errcode 40089" \
    "$T/d-wrongkey.log" || ms_fail "pause not logged"
conf
seq=$(last_seq)
ms_once d-rightkey
ms_assert_eq 0 "$MS_RC" "exit status with the right appsecret again"
ms_assert_eq 5 "$(since "$seq" "$(path_is $CREATE)")" "creates once the appsecret is right"
ms_assert_eq 5 "$(users_with 137000200)" "members delivered once the appsecret is right"

ms_log "the app QPS limit (errcode 90018) is obeyed"
add_users qps 30 13700030001
dt_post /_sim/ratelimit '{"api":"dingtalk","limit":10,"window_ms":1000}' >/dev/null
# The driver's default rate (18/s) is above the simulated limit.
conf "max_inflight = 1;"
seq=$(last_seq)
ms_once d-qps
dt_post /_sim/ratelimit '{"api":"dingtalk","limit":0}' >/dev/null
ms_assert_eq 0 "$MS_RC" "exit status under the QPS limit"
throttled=$(since "$seq" '.throttled')
((throttled > 0)) || ms_fail "the simulated limit was never reached"
((throttled <= 10)) || ms_fail "$throttled throttled answers: the limit was not learnt"
ms_log "$throttled throttled answers"
# After each throttled answer, nothing for the 1 s DingTalk's QPS window needs.
early=$(ms_sim_jq --argjson s "$seq" '
    [.log[] | select(.seq > $s)] as $l
    | [$l[] | select(.throttled) | .t_ms as $t | $l[] | select(.t_ms > $t and .t_ms < $t + 1000)] | length')
ms_assert_eq 0 "$early" "requests within 1 s of a throttled answer"
ms_assert_eq 30 "$(users_with 137000300)" "members delivered under the QPS limit"
ms_assert_eq 1 "$(creates_per_key_max "$seq")" "creates per member under the QPS limit"
grep -q "the API asks us to slow down (DingTalk errcode 90018" "$T/d-qps.log" || ms_fail "throttling not logged"

ms_log "the address ban is waited out"
add_users ban 10 13700040001
# The token request and two creates pass, then one request is banned.
dt_post /_sim/api/dingtalk/ip-ban '{"wait":2,"count":1,"skip":3}' >/dev/null
conf "rate_limit = 0; max_inflight = 1;"
seq=$(last_seq)
ms_once d-ban
ms_assert_eq 0 "$MS_RC" "exit status after a ban"
ms_assert_eq 1 "$(ms_sim_jq '.apis.dingtalk.bans | length')" "ban answers"
tban=$(ms_sim_jq '.apis.dingtalk.bans[0]')
ms_assert_eq 0 "$(since "$seq" ".t_ms > $tban and .t_ms < $tban + 2000")" "requests within 2 s of the ban"
# The banned member and the seven after it, all once the ban is over.
ms_assert_eq 8 "$(since "$seq" ".t_ms >= $tban + 2000")" "requests after the ban"
ms_assert_eq 10 "$(users_with 137000400)" "members delivered after the ban"
ms_assert_eq 11 "$(since "$seq" "$(path_is $CREATE)")" "creates (one banned)"
grep -q "DingTalk bans this address for 2 s (punish: deny)" "$T/d-ban.log" || ms_fail "ban not logged"

ms_log "a 5xx storm: retried until delivered, once"
add_users storm 20 13700050001
ms_sim_fault '{"api":"dingtalk","method":"POST","status":502,"count":12,"body":"<html>Bad Gateway</html>","content_type":"text/html"}'
conf
seq=$(last_seq)
ms_once d-storm
ms_assert_eq 0 "$MS_RC" "exit status after a 5xx storm"
ms_assert_eq 12 "$(since "$seq" '.status == 502')" "faulted answers"
ms_assert_eq 32 "$(since "$seq" "$(path_is $CREATE)")" "creates (each failure retried)"
ms_assert_eq 20 "$(users_with 137000500)" "members delivered after the storm"
ms_assert_eq 1 "$(creates_per_key_max "$seq")" "creates that reached DingTalk per member"
grep -q "dingtalk: 20 added, .* 12 retries" "$T/d-storm.log" || ms_fail "retries not reported"

ms_log "the monthly quota (errcode 90020) pauses the target until midnight"
add_users quota 5 13700060001
dt_post /_sim/api/dingtalk/quota '{}' >/dev/null
seq=$(last_seq)
ms_once d-quota
ms_assert_eq 1 "$MS_RC" "exit status when the quota is spent"
quota_creates=$(since "$seq" "$(path_is $CREATE)")
((quota_creates >= 1 && quota_creates <= 4)) || ms_fail "$quota_creates creates after the quota was spent"
grep -q "dingtalk: paused for the rest of this cycle: the API's quota is spent (DingTalk errcode 90020" \
    "$T/d-quota.log" || ms_fail "quota pause not logged"
until_ts=$(ms_state_sql "SELECT paused_until FROM target_pauses WHERE target = 'dingtalk'")
midnight=$(date -d 'tomorrow 00:00' +%s)
ms_assert_eq "$midnight" "$until_ts" "paused until local midnight"
seq=$(last_seq)
ms_once d-quota2
ms_assert_eq 1 "$MS_RC" "exit status while paused"
ms_assert_eq 0 "$(since "$seq")" "requests while paused"
grep -q "dingtalk: paused until $midnight" "$T/d-quota2.log" || ms_fail "the pause is not reported"
# Midnight, as far as this test is concerned.
curl -sS -f --noproxy '*' --max-time 5 -o /dev/null -X DELETE "$SIM_URL/_sim/api/dingtalk/quota"
sqlite3 "$T/state/state.db" "DELETE FROM target_pauses; UPDATE members SET next_attempt_at = 0 WHERE status = 'failed';"
seq=$(last_seq)
ms_once d-quota3
ms_assert_eq 0 "$MS_RC" "exit status after the pause"
ms_assert_eq 5 "$(since "$seq" "$(path_is $CREATE)")" "creates after the pause"
ms_assert_eq 5 "$(users_with 137000600)" "members delivered after the pause"

ms_log "no secret or token in logs or the state database"
secrets=("$(<"$SIM_SECRETS/dingtalk.appkey")" "$(<"$SIM_SECRETS/dingtalk.appsecret")" "$(<"$LDAP_SVC_PWFILE")")
while IFS= read -r tok; do secrets+=("$tok"); done < <(ms_sim_jq '.apis.dingtalk.tokens[]')
# The appkey, the appsecret, the LDAP password and every token issued.
if ((${#secrets[@]} < 5)); then
    ms_fail "only ${#secrets[@]} secrets to look for: the tokens were not collected"
fi
sqlite3 -readonly "$T/state/state.db" .dump >"$T/state.dump"
for s in "${secrets[@]}"; do
    [[ -n "$s" ]] || ms_error "empty secret"
    if grep -rqF -- "$s" "$T"/d-*.log "$T/state.dump"; then
        ms_fail "a secret appears in the logs or the state database"
    fi
done
ms_log "ok"
