/* MESSAGE_ID values, one per kind of event, so journalctl MESSAGE_ID=... finds
 * every occurrence of one kind. Random 128-bit ids generated once;
 * never change a published id. Each one has an entry in
 * systemd/membersync.catalog (what happened, its MEMBERSYNC_* fields, what
 * to do), which journalctl -x shows; tests/integration/journal.sh fails
 * when an id here has none or the catalog has an id not defined here. */
#ifndef MS_LOG_IDS_H
#define MS_LOG_IDS_H

/* A cycle began (info; debug for live-mode batches). No MEMBERSYNC_* fields. */
#define MSGID_CYCLE_STARTED	"a19784eb93c4faac4a1c32b5374d8c64"
/* A cycle ended: the summary line. RESULT ok, partial, stopped or source-failed. */
#define MSGID_CYCLE_FINISHED	"03709a70fdb0c0efc49706bb1ac8d1bf"
/* A member is at the target: ACTION add (RESULT ok or duplicate) or lookup
 * (RESULT found, an interrupted add had arrived). */
#define MSGID_MEMBER_ADDED	"0bc14200aa8e77b687198c4f2184b18d"
/* A directory entry without a usable id (no TARGET; RESULT no-id). */
#define MSGID_MEMBER_SKIPPED	"6c2f592b89980c0c0d8d7493be8ed611"
/* A request for one member failed and will be retried; RESULT is the
 * outcome kind (auth, throttled, quota, transient, permanent, invalid). */
#define MSGID_MEMBER_FAILED	"056563ee2a0d738288997fbc86fcca0e"
/* The API said "slow down", first time in a cycle for a target. */
#define MSGID_TARGET_THROTTLED	"4e38b2313aba5b7c2ef698adca40dbb1"
/* A target gets no more requests this cycle (credentials, max_wait, quota,
 * state database), or is still paused from before. RESULT paused. */
#define MSGID_TARGET_PAUSED	"d692873bb47f67bec4aa52d2fd995451"
/* The directory read failed. RESULT source-failed. */
#define MSGID_SOURCE_UNREACHABLE "1683484db833af73c42cbc375f623267"
/* SIGHUP: a valid new configuration is in use. */
#define MSGID_CONFIG_RELOADED	"fc7ec62d50e030cca5c0508467b4f4ce"
/* An entry recorded as invalid for a target maps cleanly again. RESULT valid. */
#define MSGID_MEMBER_VALID	"4fde918ffa7cad78428f9639895820d1"
/* A member changed but the driver cannot update (debug). RESULT unsupported. */
#define MSGID_MEMBER_STALE	"136b9b9bd6f97fba8145fe25b2b0b161"
/* An entry is invalid for a target: ACTION skip (the mapping rejected it)
 * or the op the API rejected. RESULT invalid. */
#define MSGID_MEMBER_INVALID	"3914cbdc3afa3b0e74a449d1de1bc4fd"
/* A member's entry left the directory or the search (no TARGET; ACTION and
 * RESULT gone). */
#define MSGID_MEMBER_GONE	"fced516741b243b28b689743766dd81d"
/* ACTION update, or enable (a disabled member back in scope). RESULT ok. */
#define MSGID_MEMBER_UPDATED	"0a113334d56bb53f5fda67a8ae22d343"
/* ACTION disable or delete; RESULT ok, or absent (already gone there). */
#define MSGID_MEMBER_DEPROVISIONED "63df3c0856a96eefa9bd967679f81fec"
/* No more attempts until 'membersync retry': max_attempts failures, or an
 * interrupted add the driver cannot check. RESULT quarantined. */
#define MSGID_MEMBER_QUARANTINED "90b5a66025184ce489a4d292a998f401"
/* Deprovisions over max_deprovision are held for 'membersync approve':
 * one line with ACTION deprovision, then one per held member. RESULT held. */
#define MSGID_TARGET_HELD	"9c639e165f9c3407e920be65be5c0244"

#endif
