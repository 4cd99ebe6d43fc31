#!/usr/bin/env python3
"""Plays a PBX's part for crmd's call-tracking hook: reads calls ("CALLERID EXTEN" per line, '-'
for an empty caller ID) and, for each, runs the command line the dialplan in config/pbx/ would
run, as Asterisk or FreeSWITCH builds it: the variables filled in, the result given to /bin/sh.

    scripts/pbx-play.py asterisk config/pbx/asterisk-extensions.conf < calls.txt
    scripts/pbx-play.py freeswitch config/pbx/freeswitch-dialplan.xml < calls.txt

It runs as whoever starts it (the tests start it as the PBX's uid). Exit status: the number of
hook commands that failed (0: all reported)."""
import re
import subprocess
import sys
import xml.etree.ElementTree as ET


def asterisk_commands(conf):
    """The System() argument of the dialplan, as a function of (callerid, exten)."""
    m = re.search(r"System\((.*)\)\s*$", conf, re.M)
    if not m:
        sys.exit("no System() line in the Asterisk dialplan")
    template = m.group(1)

    def fill(callerid, exten):
        values = {"CALLERID(num)": callerid, "EXTEN": exten}

        def filt(mm):
            allowed, var = mm.group(1), mm.group(2)
            keep = set()
            for part in re.findall(r".-.|.", allowed):
                if len(part) == 3:
                    keep.update(chr(c) for c in range(ord(part[0]), ord(part[2]) + 1))
                else:
                    keep.add(part)
            return "".join(ch for ch in values[var] if ch in keep)

        line = re.sub(r"\$\{FILTER\(([^,]+),\$\{([^}]+)\}\)\}", filt, template)
        return re.sub(r"\$\{([^}]+)\}", lambda mm: values[mm.group(1)], line)

    return fill


def freeswitch_commands(xml_text):
    """The system action's data after the conditions ran, as a function of (callerid, exten)."""
    ext = ET.fromstring(xml_text).find(".//extension")

    def fill(callerid, exten):
        chan = {"caller_id_number": callerid, "destination_number": exten}
        command = None
        for cond in ext.findall("condition"):
            field = cond.get("field")
            match = re.search(cond.get("expression"), chan[field]) if field else True
            if field and not match and cond.get("break", "on-false") == "on-false":
                return None
            actions = cond.findall("action") if match else cond.findall("anti-action")
            for a in actions:
                data = a.get("data", "")
                if match is not True and match:
                    data = re.sub(r"\$(\d)", lambda mm: match.group(int(mm.group(1))) or "", data)
                data = re.sub(r"\$\{([^}]+)\}", lambda mm: chan.get(mm.group(1), ""), data)
                if a.get("application") == "set":
                    k, v = data.split("=", 1)
                    chan[k] = v
                elif a.get("application") == "system":
                    command = data
        return command

    return fill


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("asterisk", "freeswitch"):
        sys.exit(__doc__)
    text = open(sys.argv[2], encoding="utf-8").read()
    fill = asterisk_commands(text) if sys.argv[1] == "asterisk" else freeswitch_commands(text)
    failed = 0
    for line in sys.stdin:
        parts = line.rstrip("\n").split(" ")
        if len(parts) != 2:
            continue
        callerid, exten = ("" if parts[0] == "-" else parts[0]), parts[1]
        command = fill(callerid, exten)
        if command is None:
            continue
        if subprocess.run(["/bin/sh", "-c", command]).returncode != 0:
            failed += 1
    sys.exit(min(failed, 100))


if __name__ == "__main__":
    main()
