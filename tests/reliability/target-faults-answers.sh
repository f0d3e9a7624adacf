#!/usr/bin/env bash
# Target faults, bad answers: 10 MB bodies (success-looking and error, with
# the daemon's peak RSS), HTML pages with 200 (Rainbond, Devin) and 500, a
# JSON error sent as text/plain, a 429 storm without Retry-After, and
# DingTalk's errors as HTTP 200 (errcode -1, JSON cut short). The phases
# and what each asserts are described in target-faults.sh, which this runs
# with MS_FAULT_SET=answers (split in two so that each stays well under two
# minutes).
set -euo pipefail
MS_FAULT_SET=answers
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/reliability/target-faults.sh"
