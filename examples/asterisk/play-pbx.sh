#!/bin/sh
# Plays the PBX's part against a running crmd (for a test or a demonstration): what Asterisk's h
# extension runs at the end of each call (examples/asterisk/extensions.conf), then a Master.csv
# with the same calls and a few more imported as cron would. Run it as the PBX's operator account
# (or an admin). The numbers are examples: give a client the phone +7 495 111-22-33 and a
# manager extension 200 to see an interaction and a call-back task appear.
#   usage: play-pbx.sh [crmctl options, e.g. --socket /run/crmd/crmd.sock]
set -eu
CRMCTL=${CRMCTL:-crmctl}
# An answered inbound call, as the h extension reports it (STRFTIME's %z gives +0300).
"$CRMCTL" call ended --from 74951112233 --to 200 --started-at 2026-12-04T14:05:10+0300 \
    --disposition ANSWERED --duration 270 --billsec 262 --uniqueid 1764846310.18 "$@"
# A missed one on Friday evening: a call-back task due on Monday morning.
"$CRMCTL" call ended --from 74951112233 --to 200 --started-at 2026-12-04T18:50:00+0300 \
    --disposition "NO ANSWER" --duration 30 --uniqueid 1764863400.32 "$@"
# The same calls and two more in cdr_csv's format: the first two are duplicates now.
csv=$(mktemp)
trap 'rm -f "$csv"' EXIT
cat > "$csv" <<'CSV'
"","74951112233","200","from-trunk","""ООО Ромашка"" <74951112233>","PJSIP/trunk-00000012","PJSIP/200-00000013","Dial","PJSIP/200,30,tT","2026-12-04 14:05:10","2026-12-04 14:05:18","2026-12-04 14:09:40",270,262,"ANSWERED","DOCUMENTATION","1764846310.18",""
"","74951112233","200","from-trunk","""ООО Ромашка"" <74951112233>","PJSIP/trunk-00000020","PJSIP/200-00000021","Dial","PJSIP/200,30","2026-12-04 18:50:00","","2026-12-04 18:50:30",30,0,"NO ANSWER","DOCUMENTATION","1764863400.32",""
"","200","84951112233","from-internal","""Иван"" <200>","PJSIP/200-00000030","PJSIP/trunk-00000031","Dial","PJSIP/trunk/84951112233","2026-12-04 15:00:00","","2026-12-04 15:00:02",2,0,"BUSY","DOCUMENTATION","1764849600.40",""
"","79990001122","200","from-trunk","""79990001122"" <79990001122>","PJSIP/trunk-00000040","PJSIP/200-00000041","Dial","PJSIP/200,30","2026-12-04 16:00:00","","2026-12-04 16:00:20",20,0,"NO ANSWER","DOCUMENTATION","1764853200.50",""
CSV
"$CRMCTL" call import "$csv" "$@"
