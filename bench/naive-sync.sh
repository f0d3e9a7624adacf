#!/usr/bin/env bash
# Baseline (a) of bench/run.sh: the sync a team writes in an afternoon
# before it has membersyncd. One paged ldapsearch, piped through awk into
# a shell loop that runs curl once per user against Rainbond's
# POST /openapi/v1/users. No state, no retries, no concurrency: the point
# is what such a loop costs per user on the same machine.
#
#   bench/naive-sync.sh URI BIND_DN PASSWORD_FILE BASE API_URL HEADER_FILE [LIMIT]
#
# HEADER_FILE holds the request headers, one "Name: value" per line (curl
# reads it with -H @FILE, so the API key is not in any argv). LIMIT stops
# after that many users (default: all). Prints one line per HTTP status,
# "COUNT STATUS", on stdout.
set -uo pipefail
if (($# < 6)); then
    sed -n '2,13p' "$0" >&2
    exit 2
fi
uri=$1 binddn=$2 pwfile=$3 base=$4 url=$5 headers=$6 limit=${7:-0}

# Unfolded LDIF, one entry per paragraph: uid and the first mail.
ldapsearch -LLL -o ldif-wrap=no -x -H "$uri" -D "$binddn" -y "$pwfile" -b "$base" \
    -E pr=1000/noprompt '(objectClass=inetOrgPerson)' uid mail 2>/dev/null |
    awk -v limit="$limit" '
        /^uid: / { uid = substr($0, 6) }
        /^mail: / && mail == "" { mail = tolower(substr($0, 7)) }
        /^$/ {
            if (uid != "" && mail != "") {
                print uid "\t" mail
                if (limit > 0 && ++n >= limit) exit
            }
            uid = mail = ""
        }' |
    while IFS=$'\t' read -r uid mail; do
        curl -sS --noproxy '*' --max-time 10 -o /dev/null -w '%{http_code}\n' -H @"$headers" -X POST \
            --data "{\"nick_name\":\"$uid\",\"email\":\"$mail\",\"password\":\"Passw0rd1234\",\"enterprise_id\":\"bench\"}" \
            "$url"
    done | sort | uniq -c
