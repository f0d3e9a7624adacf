#!/usr/bin/env bash
# tests/package/build.sh: build the Debian package from a clean copy of the
# tree, run lintian on it, and check what the .deb contains.
#
# Usage: tests/package/build.sh [--install] [--keep DIR]
#
#   --install   also install the .deb on this machine with dpkg -i, check
#               the installed result (user, owner and mode of the config,
#               conffiles), then purge it again.  Needs root; meant for a
#               throwaway machine such as CI.  Refused if a membersync
#               package is already installed.
#   --keep DIR  copy the .deb, .changes, .buildinfo, the build log and
#               lintian's output to DIR.
#
# The tree is copied with "git ls-files" (tracked files plus untracked ones
# that are not ignored, so uncommitted work is packaged too) into a temp
# dir: nothing is written into the checkout.  The package is built with
# dpkg-buildpackage -us -uc -b, the nocheck profile and DEB_BUILD_OPTIONS=
# "nocheck parallel=2" (the test suite runs separately).  lintian must
# report no error and no warning (pedantic and experimental tags are shown
# but do not fail); the few intended exceptions are in
# debian/membersync.lintian-overrides, each with its reason (lintian's
# --show-overrides would make overridden tags fail --fail-on, so they are
# not listed here).
#
# Without a .deb installation, the contents are checked with dpkg-deb -c/-I
# and unpacked with dpkg -x (no maintainer scripts, no root); the sysusers
# file is applied to the unpacked tree with systemd-sysusers --root.
#
# Exit: 0 pass, 1 fail, 77 skip (a tool or build dependency is missing;
# the reason is printed), 99 the script itself could not do its job.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
install=0
keep=
while (($#)); do
    case $1 in
        --install) install=1 ;;
        --keep) keep=${2:?--keep needs a directory}; shift ;;
        *) echo "usage: $0 [--install] [--keep DIR]" >&2; exit 99 ;;
    esac
    shift
done

say() { printf '# %s\n' "$*" >&2; }
skip() { printf 'SKIP: %s\n' "$*" >&2; exit 77; }
fails=0
fail() { printf 'FAIL: %s\n' "$*" >&2; fails=$((fails + 1)); }

for c in git dpkg-buildpackage dpkg-checkbuilddeps dpkg-deb dpkg-parsechangelog lintian fakeroot; do
    command -v "$c" >/dev/null || skip "$c is not installed (scripts/install-deps.sh installs it)"
done
git -C "$top" rev-parse --git-dir >/dev/null 2>&1 || skip "$top is not a git checkout"
if ! unmet=$(cd "$top" && dpkg-checkbuilddeps -P nocheck 2>&1); then
    skip "build dependencies missing: ${unmet#*: }"
fi
if ((install)); then
    ((EUID == 0)) || skip "--install needs root"
    if dpkg-query -W -f='${Status}' membersync 2>/dev/null | grep -q 'installed'; then
        echo "ERROR: a membersync package is already installed; --install will not replace it" >&2
        exit 99
    fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ms-package.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
start=$SECONDS

# ---------------------------------------------------------------- source copy
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
src="$tmp/membersync-$version"
mkdir -p "$src"
(cd "$top" && git ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [[ -e $f || -L $f ]] && printf '%s\0' "$f"; done |
    tar --null -T - -cf -) | tar -xf - -C "$src"
say "source copied to $src ($(find "$src" -type f | wc -l) files)"

# ---------------------------------------------------------------- build
say "dpkg-buildpackage -us -uc -b (nocheck, parallel=2)"
if ! (cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2" \
        dpkg-buildpackage -us -uc -b --build-profiles=nocheck) >"$tmp/build.log" 2>&1; then
    tail -n 60 "$tmp/build.log" >&2
    [[ -n $keep ]] && { mkdir -p "$keep"; cp "$tmp/build.log" "$keep/"; }
    echo "FAIL: dpkg-buildpackage failed (last 60 lines above)" >&2
    exit 1
fi
arch=$(dpkg --print-architecture)
deb="$tmp/membersync_${version}_${arch}.deb"
changes="$tmp/membersync_${version}_${arch}.changes"
[[ -f $deb && -f $changes ]] || { echo "FAIL: no $deb after the build" >&2; exit 1; }
say "built $(basename "$deb") in $((SECONDS - start)) s"

# ---------------------------------------------------------------- lintian
say "lintian"
lint_rc=0
lintian --display-experimental --pedantic --fail-on error,warning \
    "$changes" >"$tmp/lintian.txt" 2>&1 || lint_rc=$?
grep -v '^running with root privileges' "$tmp/lintian.txt" | sed 's/^/  /' >&2 || true
grep -qv '^running with root privileges' "$tmp/lintian.txt" || say "lintian: no tags"
if ((lint_rc != 0)) || grep -q '^[EW]: ' "$tmp/lintian.txt"; then
    fail "lintian reports errors or warnings (exit $lint_rc)"
fi

# ---------------------------------------------------------------- contents
dpkg-deb -I "$deb" >"$tmp/info.txt"
dpkg-deb -c "$deb" >"$tmp/contents.txt"
# "mode owner/group size date time path", path without the leading "."
entry() { awk -v p="$1" '{ q = $6; sub(/^\./, "", q); if (q == p) { print $1, $2; exit } }' "$tmp/contents.txt"; }
has() {
    local e; e=$(entry "$1")
    if [[ -z $e ]]; then fail "the .deb lacks $1"; return 1; fi
    if [[ -n ${2:-} && $e != "$2" ]]; then fail "$1 is '$e', expected '$2'"; return 1; fi
}

# The unit directory comes from pkg-config systemd (debian/rules).
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || true)
unitdir=${unitdir:-/lib/systemd/system}

has /usr/sbin/membersyncd "-rwxr-xr-x root/root"
has /usr/bin/membersync "-rwxr-xr-x root/root"
has "$unitdir/membersyncd.service" "-rw-r--r-- root/root"
has /usr/share/man/man8/membersyncd.8.gz
has /usr/share/man/man5/membersync.conf.5.gz
has /usr/share/man/man1/membersync.1.gz
has /usr/lib/sysusers.d/membersync.conf
[[ -n $(entry /usr/share/doc/membersync/README.Debian.gz) ]] || has /usr/share/doc/membersync/README.Debian
has /usr/share/doc/membersync/copyright
# The example, as it is in the source tree, and as the conffile.
ex=$(awk '{ q = $6; sub(/^\./, "", q) } q ~ "^/usr/share/doc/membersync/examples/membersync\\.conf\\.example(\\.gz)?$" { print q }' "$tmp/contents.txt")
[[ -n $ex ]] || fail "the .deb lacks /usr/share/doc/membersync/examples/membersync.conf.example"
has /etc/membersync/membersync.conf "-rw-r----- root/root"
# Files other helpers add: checked once the source tree installs them.
if grep -q 'membersyncd@\.service' "$top/Makefile.am"; then
    has "$unitdir/membersyncd@.service" "-rw-r--r-- root/root"
fi
if [[ -e $top/systemd/membersync.catalog ]] && grep -q 'membersync\.catalog' "$top/Makefile.am"; then
    # pkg-config's catalogdir: /usr/lib/systemd/catalog on bookworm.
    if [[ -n $(entry /lib/systemd/catalog/membersync.catalog) ]]; then
        has /lib/systemd/catalog/membersync.catalog "-rw-r--r-- root/root"
    else
        has /usr/lib/systemd/catalog/membersync.catalog "-rw-r--r-- root/root"
    fi
elif [[ -e $top/systemd/membersync.catalog ]]; then
    say "NOTE: systemd/membersync.catalog exists but Makefile.am does not install it yet: not checked"
else
    say "NOTE: no systemd/membersync.catalog in the tree yet: not checked"
fi

conffiles=$(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles 2>/dev/null || true)
grep -qx /etc/membersync/membersync.conf <<<"$conffiles" ||
    fail "/etc/membersync/membersync.conf is not a conffile (conffiles: ${conffiles:-none})"
deps=$(dpkg-deb -f "$deb" Depends)
grep -q 'systemd' <<<"$deps" || fail "Depends lacks systemd-sysusers' provider: $deps"
for s in postinst postrm; do
    dpkg-deb --ctrl-tarfile "$deb" | tar -tf - "./$s" >/dev/null 2>&1 || fail "the .deb has no $s"
done

# ---------------------------------------------------------------- unpacked
root="$tmp/root"
dpkg -x "$deb" "$root"
cmp -s "$root/etc/membersync/membersync.conf" "$top/etc/membersync.conf.example" ||
    fail "/etc/membersync/membersync.conf is not etc/membersync.conf.example"
"$root/usr/sbin/membersyncd" --version >/dev/null || fail "the packaged membersyncd --version fails"
"$root/usr/bin/membersync" --help >/dev/null 2>&1 || fail "the packaged membersync --help fails"
# The config is 0640 root:_membersync, so every unit must run as that user
# (DynamicUser=yes then uses the static user); otherwise the daemon cannot
# read its configuration.
for u in "$root$unitdir"/membersyncd*.service; do
    grep -qx 'User=_membersync' "$u" ||
        fail "$(basename "$u") does not run as User=_membersync, so it cannot read membersync.conf (0640 root:_membersync)"
    ! grep -q '@[a-z_]*@' "$u" || fail "$(basename "$u") has an unsubstituted @...@"
done
if command -v systemd-sysusers >/dev/null; then
    mkdir -p "$root/etc"
    if systemd-sysusers --root="$root" "$root/usr/lib/sysusers.d/membersync.conf" >"$tmp/sysusers.log" 2>&1; then
        grep -q '^_membersync:' "$root/etc/passwd" && grep -q '^_membersync:' "$root/etc/group" ||
            fail "systemd-sysusers did not create user and group _membersync"
    else
        fail "systemd-sysusers rejects the sysusers file: $(cat "$tmp/sysusers.log")"
    fi
else
    say "NOTE: no systemd-sysusers: sysusers file not applied"
fi
# (lintian runs man --warnings on the manual pages.)

# ---------------------------------------------------------------- installed
if ((install)); then
    say "dpkg -i, check, dpkg --purge"
    if ! dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1; then
        cat "$tmp/dpkg.log" >&2
        fail "dpkg -i failed"
        dpkg --purge membersync >/dev/null 2>&1 || true
    else
        conf=/etc/membersync/membersync.conf
        getent passwd _membersync >/dev/null || fail "no user _membersync after install"
        st=$(stat -c '%U:%G %a' "$conf" 2>/dev/null || true)
        [[ $st == "root:_membersync 640" ]] || fail "$conf is '$st', expected 'root:_membersync 640'"
        dpkg-query -W -f='${Conffiles}\n' membersync | grep -q "^ $conf " || fail "$conf is not a registered conffile"
        dpkg-statoverride --list "$conf" | grep -Eq '^root _membersync 0?640 ' || fail "no statoverride for $conf"
        [[ -x /usr/sbin/membersyncd ]] || fail "/usr/sbin/membersyncd not installed"
        # Not enabled (see README.Debian).
        if [[ -e /etc/systemd/system/multi-user.target.wants/membersyncd.service ]]; then
            fail "membersyncd.service was enabled on install"
        fi
        if ! dpkg --purge membersync >>"$tmp/dpkg.log" 2>&1; then
            cat "$tmp/dpkg.log" >&2
            fail "dpkg --purge failed"
        fi
        [[ ! -e $conf ]] || fail "$conf is still there after purge"
        ! dpkg-statoverride --list "$conf" >/dev/null 2>&1 || fail "statoverride for $conf left after purge"
    fi
fi

if [[ -n $keep ]]; then
    mkdir -p "$keep"
    cp "$tmp"/*.deb "$tmp"/*.changes "$tmp"/*.buildinfo "$tmp/build.log" "$tmp/lintian.txt" "$keep/"
    say "kept the package and logs in $keep"
fi
say "package checks done in $((SECONDS - start)) s"
if ((fails)); then
    echo "FAIL: $fails package check(s) failed" >&2
    exit 1
fi
echo "PASS: package $(basename "$deb") builds, is lintian-clean and has the expected files"
