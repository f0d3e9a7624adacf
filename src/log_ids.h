/* MESSAGE_ID values, one per kind of event, so journalctl MESSAGE_ID=... finds
 * every occurrence of one kind. Random 128-bit ids generated once;
 * never change a published id. */
#ifndef MS_LOG_IDS_H
#define MS_LOG_IDS_H

#define MSGID_CYCLE_STARTED	"a19784eb93c4faac4a1c32b5374d8c64"
#define MSGID_CYCLE_FINISHED	"03709a70fdb0c0efc49706bb1ac8d1bf"
#define MSGID_MEMBER_ADDED	"0bc14200aa8e77b687198c4f2184b18d"
#define MSGID_MEMBER_SKIPPED	"6c2f592b89980c0c0d8d7493be8ed611"
#define MSGID_MEMBER_FAILED	"056563ee2a0d738288997fbc86fcca0e"
#define MSGID_TARGET_THROTTLED	"4e38b2313aba5b7c2ef698adca40dbb1"
#define MSGID_TARGET_PAUSED	"d692873bb47f67bec4aa52d2fd995451"
#define MSGID_SOURCE_UNREACHABLE "1683484db833af73c42cbc375f623267"
#define MSGID_CONFIG_RELOADED	"fc7ec62d50e030cca5c0508467b4f4ce"
#define MSGID_MEMBER_VALID	"4fde918ffa7cad78428f9639895820d1"
#define MSGID_MEMBER_STALE	"136b9b9bd6f97fba8145fe25b2b0b161"
#define MSGID_MEMBER_INVALID	"3914cbdc3afa3b0e74a449d1de1bc4fd"
#define MSGID_MEMBER_GONE	"fced516741b243b28b689743766dd81d"

#endif
