# Helpers for tests that run membersyncd itself; sourced after lib.sh.
#
# ms_conf_write FILE TARGETS_TEXT [SOURCE_EXTRA]: writes a membersync.conf
#   reading the harness's slapd with its service account, state in $T/state,
#   change_detection $MS_CHANGE_DETECTION (default full).
# ms_rainbond_target [NAME]: the text of a rainbond target for the simulator.
# ms_rest_target [NAME]: the text of a rest target for the simulator.
# ms_once LOGNAME [ARGS...]: runs membersyncd --once --foreground with
#   $T/membersync.conf, stderr and stdout to $T/LOGNAME.log; sets MS_RC.
# ms_state_sql SQL: runs SQL on the state database (read-only), prints rows.
# ms_posts [PATH]: number of POST requests the simulator received.

ms_rainbond_target() {
    local name=${1:-rainbond}
    cat <<EOT
  { name = "$name"; driver = "rainbond"; url = "$SIM_URL";
    auth = { key_file = "$SIM_RAINBOND_KEYFILE"; };
    # Tests wait for retries; keep their backoff short.
    retry_delay = 0.05; retry_max_delay = 0.2; retry_backoff = 0; retry_backoff_max = 0; max_retries = 3;
    map = {
      nick_name = "\${uid}";
      email = "\${mail | lower}";
      password = "\${random_password(12)}";
      enterprise_id = "ent-demo";
      phone = "\${mobile}";
      is_active = true;
      origion = "ldap";
    };
  }
EOT
}

ms_rest_target() {
    local name=${1:-hr-api}
    cat <<EOT
  { name = "$name"; driver = "rest"; url = "$SIM_URL/rest/members";
    key = "email"; remote_id_path = "id";
    retry_delay = 0.05; retry_max_delay = 0.2; retry_backoff = 0; retry_backoff_max = 0; max_retries = 3;
    auth = { key_file = "$SIM_REST_TOKENFILE"; };
    map = {
      email = "\${mail | lower}";
      name = "\${displayName | default(cn)}";
      uid = "\${uid}";
      mails = "\${mail[*]}";
    };
  }
EOT
}

ms_conf_write() {
    local file=$1 targets=$2 extra=${3:-}
    cat >"$file" <<EOT
# Written by tests/integration/daemon.sh
source = {
  uri = "$LDAP_URI";
  bind_dn = "$LDAP_SVC_DN";
  bind_password_file = "$LDAP_SVC_PWFILE";
  # Loopback slapd without TLS: the test accepts a clear-text bind.
  allow_plaintext_bind = true;
  base = "$LDAP_PEOPLE";
  filter = "(objectClass=inetOrgPerson)";
  page_size = 50;
  timeout = 20;
  # Tests of the push side count unchanged entries, which only full reads
  # see; change tracking tests set MS_CHANGE_DETECTION.
  change_detection = "${MS_CHANGE_DETECTION:-full}";
  $extra
};
state_dir = "$T/state";
log_level = "info";
targets = (
$targets
);
EOT
}

ms_once() {
    local log=$1
    shift
    MS_RC=0
    "$MEMBERSYNCD" --once --foreground --config "$T/membersync.conf" "$@" \
        >"$T/$log.log" 2>&1 || MS_RC=$?
    export MS_RC
}

ms_state_sql() {
    ms_require_cmd sqlite3
    sqlite3 -readonly "$T/state/state.db" "$1"
}

ms_posts() {
    local path=${1:-/openapi/v1/users}
    ms_sim_jq --arg p "$path" '[.log[] | select(.method == "POST" and .path == $p)] | length'
}

# ms_add_user UID [SN]: one more inetOrgPerson under LDAP_PEOPLE, written
# over LDAP so that syncprov and the overlays see it.
ms_add_user() {
    ms_ldapadd <<EOT
dn: uid=$1,$LDAP_PEOPLE
objectClass: inetOrgPerson
uid: $1
cn: $1
sn: ${2:-Added}
mail: $1@example.org
EOT
}
