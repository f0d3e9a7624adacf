# shellcheck shell=bash
# lib-journal.sh: a private systemd-journald for tests that check what
# membersyncd writes to the journal (journal.sh, reliability/secrets.sh).
# Source after lib.sh and ms_setup.
#
#   ms_journal_check     sets MS_JOURNALD and MS_UNSHARE_ARGS; status 1
#                        with the reason in MS_JOURNAL_SKIP when a private
#                        journald cannot run here (not installed, unshare
#                        or a tmpfs mount not allowed, no machine-id)
#   ms_journal_run ROOT SNIPPET
#                        runs journald in a private mount namespace and,
#                        beside it, the shell code in the file SNIPPET (sh,
#                        with T and MEMBERSYNCD in the environment); then
#                        waits until journald has stored everything and
#                        stops it. The journal files end up under
#                        ROOT/run/log/journal. Status: the namespace's.
#                        When journald itself did not come up, the reason
#                        is in $T/namespace.err (and status 3).
#
# The namespace: /run/systemd a tmpfs (journald's sockets, and a drop-in
# that keeps it from reading the kernel log or forwarding anywhere),
# /run/log the folder ROOT/run/log (the journal files, which stay after the
# namespace is gone), /var/log/journal a tmpfs so nothing can reach the
# machine's persistent journal. A membersyncd started without --foreground
# and with stderr a file picks the journal itself, as under systemd.

ms_journal_check() {
    MS_JOURNALD=
    MS_JOURNAL_SKIP=
    local f
    for f in /lib/systemd/systemd-journald /usr/lib/systemd/systemd-journald; do
        if [[ -x "$f" ]]; then
            MS_JOURNALD=$f
            break
        fi
    done
    MS_UNSHARE_ARGS=(--mount --propagation private)
    if [[ "$(id -u)" != 0 ]]; then
        MS_UNSHARE_ARGS+=(--map-root-user)
    fi
    if [[ -z "$MS_JOURNALD" ]]; then
        MS_JOURNAL_SKIP="systemd-journald is not installed (Debian: package systemd)"
    elif ! _ms_have_cmd unshare || ! _ms_have_cmd journalctl || ! _ms_have_cmd logger; then
        MS_JOURNAL_SKIP="unshare, journalctl or logger is not installed (Debian: util-linux, systemd, bsdutils)"
    elif ! unshare "${MS_UNSHARE_ARGS[@]}" sh -c 'mount -t tmpfs tmpfs /run/systemd 2>/dev/null ||
        { mkdir -p /run/systemd && mount -t tmpfs tmpfs /run/systemd; }' >"$T/unshare.log" 2>&1; then
        MS_JOURNAL_SKIP="cannot run systemd-journald privately: 'unshare ${MS_UNSHARE_ARGS[*]}' with a tmpfs on /run/systemd is not allowed here ($(tr '\n' ' ' <"$T/unshare.log"))"
    elif [[ ! -s /etc/machine-id ]]; then
        MS_JOURNAL_SKIP="systemd-journald needs /etc/machine-id, which this machine does not have"
    fi
    [[ -z "$MS_JOURNAL_SKIP" ]]
}

ms_journal_run() {
    local root=$1 snippet=$2 rc=0
    mkdir -p "$root/run/log"
    {
        cat <<'EOF'
set -eu
mount -t tmpfs tmpfs /run/systemd 2>/dev/null || { mkdir -p /run/systemd; mount -t tmpfs tmpfs /run/systemd; }
mkdir -p /run/log
mount --bind "$ROOT/run/log" /run/log
if [ -d /var/log/journal ]; then
    mount -t tmpfs tmpfs /var/log/journal
fi
mkdir -p /run/systemd/journal /run/systemd/journald.conf.d
cat >/run/systemd/journald.conf.d/50-membersync-test.conf <<EOC
[Journal]
Storage=volatile
Compress=no
ReadKMsg=no
RateLimitIntervalSec=0
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
RuntimeMaxUse=64M
EOC
SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_LEVEL=info "$JOURNALD" >"$T/journald.log" 2>&1 &
jpid=$!
trap 'kill $jpid 2>/dev/null || true' EXIT
i=0
while [ ! -S /run/systemd/journal/socket ]; do
    i=$((i + 1))
    if [ $i -gt 100 ] || ! kill -0 $jpid 2>/dev/null; then
        echo "systemd-journald did not create /run/systemd/journal/socket" >"$T/namespace.err"
        exit 3
    fi
    sleep 0.1
done
EOF
        cat "$snippet"
        cat <<'EOF'
# One more message, after the test's: when it is in the file, so are the
# others (journald handles its socket in order).
logger --journald <<EOM
MESSAGE=membersync test: end marker
SYSLOG_IDENTIFIER=membersync-test-end
EOM
i=0
while ! journalctl -D /run/log/journal -q -o cat SYSLOG_IDENTIFIER=membersync-test-end 2>/dev/null | grep -q 'end marker'; do
    i=$((i + 1))
    [ $i -le 100 ] || break
    sleep 0.1
done
kill $jpid
wait $jpid || true
trap - EXIT
EOF
    } >"$T/in-namespace.sh"
    # T is exported by ms_setup.
    ROOT="$root" JOURNALD="$MS_JOURNALD" MEMBERSYNCD="$MEMBERSYNCD" \
        unshare "${MS_UNSHARE_ARGS[@]}" sh "$T/in-namespace.sh" >"$T/namespace.log" 2>&1 || rc=$?
    return "$rc"
}
