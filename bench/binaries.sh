# Sourced by the bench scripts: which membersyncd and targetsim to run.
# MEMBERSYNCD and TARGETSIM if both are set (as for "make check"; nothing
# is built then, and top_srcdir, if set, is the source tree); else built in
# BUILDDIR: the current directory if it is a build directory, else build/.
# Expects $root (the source tree); exports top_srcdir, MEMBERSYNCD and
# TARGETSIM.
if [[ -n "${MEMBERSYNCD:-}" && -n "${TARGETSIM:-}" ]]; then
    [[ -x $MEMBERSYNCD && -x $TARGETSIM ]] ||
        { echo "bench: MEMBERSYNCD=$MEMBERSYNCD or TARGETSIM=$TARGETSIM is not an executable" >&2; exit 1; }
    root=${top_srcdir:-$root}
else
    if [[ -z "${BUILDDIR:-}" && -f Makefile && -x membersyncd ]]; then
        BUILDDIR=$PWD
    fi
    builddir=${BUILDDIR:-$root/build}
    "$root/scripts/install-deps.sh"
    BUILDDIR=$builddir "$root/scripts/build.sh" >/dev/null
    make -C "$builddir" -s --no-print-directory tests/targetsim/targetsim
    MEMBERSYNCD=$builddir/membersyncd
    TARGETSIM=$builddir/tests/targetsim/targetsim
fi
export top_srcdir=$root MEMBERSYNCD TARGETSIM
