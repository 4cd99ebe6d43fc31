#!/usr/bin/env python3
"""Mail a crmd alert with the local `sendmail` (postfix, exim, msmtp, nullmailer all provide it).

Standard library only. Reads the alert (crmd's alerts.delivery_command gives it as one JSON
object on stdin), writes a mail and pipes it to `sendmail -t -oi`. The recipient is the alert's
user looked up in a map file of lines "USER_ID address" (crmctl user list shows the ids), else
--to. Exits with sendmail's status, so crmd retries a mail that did not go.

    alerts:
      delivery_command: "/usr/local/lib/crmd/alert-sendmail.py --map /etc/crmd/mail-map --to sales@example.ru"
"""

import argparse
import json
import subprocess
import sys
from email.message import EmailMessage

SUBJECTS = {
    "zone_yellow": "Клиент в жёлтой зоне",
    "days_to_release": "Скоро уйдёт на биржу",
    "red_copy": "Клиент в красной зоне (копия)",
    "deal_overdue": "Сделка просрочена",
    "deal_overdue_copy": "Сделка просрочена (копия)",
    "task_due": "Задача к сроку",
    "invoice_overdue": "Счёт не оплачен",
}


def recipient(alert, map_file, fallback):
    if map_file:
        with open(map_file, encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2 and not parts[0].startswith("#") and parts[0] == str(alert.get("user")):
                    return parts[1]
    return fallback


def main():
    parser = argparse.ArgumentParser(description="Mail a crmd alert read on stdin.")
    parser.add_argument("--map", help='file of lines "USER_ID address"')
    parser.add_argument("--to", help="address for users not in the map")
    parser.add_argument("--from", dest="sender", default="crmd", help="the From address (default crmd)")
    parser.add_argument("--sendmail", default="sendmail", help="the sendmail program (default: sendmail on PATH)")
    args = parser.parse_args()
    alert = json.load(sys.stdin)
    to = recipient(alert, args.map, args.to)
    if not to:
        sys.exit(f"alert-sendmail: no address for user {alert.get('user')}: add it to --map or give --to")
    mail = EmailMessage()
    mail["From"] = args.sender
    mail["To"] = to
    mail["Subject"] = f"CRM: {SUBJECTS.get(alert.get('kind'), alert.get('kind'))}"
    mail.set_content(f"{alert.get('message', '')}\n\n(alert #{alert.get('id')}, {alert.get('kind')})\n")
    done = subprocess.run([args.sendmail, "-t", "-oi"], input=mail.as_bytes())
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
