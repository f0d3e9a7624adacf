#!/usr/bin/env bash
# Installs the Debian 12 packages membersync needs to build, test and run
# the demo. Does nothing when they are all present; needs root otherwise.
set -euo pipefail

packages=(
    # build
    build-essential autoconf automake libtool pkg-config
    libldap-dev libcurl4-openssl-dev libjson-c-dev libconfig-dev libssl-dev
    libsystemd-dev libsqlite3-dev libcunit1-dev libmicrohttpd-dev libsasl2-dev
    libpcre2-dev
    # tests and demo: a real directory server, the tools that drive it,
    # and what the test scripts use to inspect results
    slapd ldap-utils curl jq sqlite3 socat valgrind
    # the Active Directory tests run their own Samba AD DC
    samba samba-ad-provision samba-dsdb-modules samba-vfs-modules
    # ... and bind with Kerberos through Cyrus SASL
    libsasl2-modules-gssapi-mit
    # the journal test runs its own systemd-journald in a private mount
    # namespace (unshare)
    systemd util-linux
    # the Debian package: tests/package/build.sh (dpkg-buildpackage,
    # lintian; debhelper also provides dh-sequence-installsysusers)
    dpkg-dev debhelper fakeroot lintian
    # benchmarks: wrk drives the simulator's ceiling, openssl signs a JWT
    wrk openssl
    # reliability (issue 9): libFuzzer targets need clang and its runtime;
    # static analysis runs cppcheck, clang-tidy (bear records the compile
    # commands) and scan-build; the state fault test holds an SQLite lock
    # from python3
    clang libclang-rt-14-dev clang-tools clang-tidy cppcheck bear python3
    # GNU time: peak memory of a run (tests/reliability/bad-data.sh)
    time
    ca-certificates
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing+=("$p")
    fi
done
if ((${#missing[@]} == 0)); then
    exit 0
fi
if ((EUID != 0)); then
    echo "install-deps: these Debian packages are missing: ${missing[*]}" >&2
    echo "install-deps: run as root, or install them with apt-get" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# The tests start their own throwaway slapd; the package must not set up
# (and start) a system directory of its own.
echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
