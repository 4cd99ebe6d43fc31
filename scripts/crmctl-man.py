#!/usr/bin/env python3
"""Writes crmctl's man page (troff, section 1) from its own command definitions.

    crmctl --experimental-dump-help | scripts/crmctl-man.py > crmctl.1

The text comes from the definitions swift-argument-parser dumps (every subcommand, option and
help string), so the page cannot drift from the program. install.sh runs it at install time;
it needs no Swift toolchain (the GenerateManual plugin would), only the built crmctl.
"""

import json
import sys

GLOBAL = {"--socket", "--json", "--as", "--help", "--version"}


def esc(text):
    """Escapes text for troff: backslashes, and a leading dot or quote."""
    text = (text or "").replace("\\", "\\e").replace("-", "\\-")
    lines = []
    for line in text.split("\n"):
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def names(arg):
    out = []
    for n in arg.get("names") or []:
        out.append(("--" if n["kind"] == "long" else "-") + n["name"])
    return out


def usage_of(arg):
    if arg["kind"] == "positional":
        return f"<{arg.get('valueName', 'value')}>"
    shown = ", ".join(names(arg))
    if arg["kind"] == "option":
        shown += f" <{arg.get('valueName', 'value')}>"
    return shown


def arguments(cmd, out, skip_global):
    for arg in cmd.get("arguments") or []:
        if not arg.get("shouldDisplay", True):
            continue
        if skip_global and set(names(arg)) & GLOBAL:
            continue
        out.append(".TP")
        out.append(f"\\fB{esc(usage_of(arg))}\\fR")
        text = arg.get("abstract") or ""
        if arg.get("defaultValue"):
            text += f" (default: {arg['defaultValue']})"
        out.append(esc(text) or "\\&")


def command(cmd, path, out):
    full = " ".join(path)
    out.append(f'.SS "{esc(full)}"')
    if cmd.get("abstract"):
        out.append(esc(cmd["abstract"]))
    if cmd.get("discussion"):
        out.append(".PP")
        out.append(esc(cmd["discussion"]))
    arguments(cmd, out, skip_global=True)
    for sub in cmd.get("subcommands") or []:
        if sub["commandName"] == "help" or not sub.get("shouldDisplay", True):
            continue
        command(sub, path + [sub["commandName"]], out)


def main():
    root = json.load(sys.stdin)["command"]
    name = root["commandName"]
    out = [
        f'.TH {name.upper()} 1 "" "crmd" "crmd manual"',
        ".SH NAME",
        f"{name} \\- {esc(root.get('abstract', ''))}",
        ".SH SYNOPSIS",
        f"\\fB{name}\\fR [\\fIglobal options\\fR] \\fIcommand\\fR [\\fIarguments\\fR] [\\fIglobal options\\fR]",
        ".SH DESCRIPTION",
        esc(root.get("discussion", "")),
        ".PP",
        "Global options may stand before or after the command. Dates and times are read and shown in",
        "crmd's time zone: 20.11.2026 10:00, 20.11 10:00, today 15:00, tomorrow 9:00, завтра 9:00, or RFC 3339.",
        ".SH GLOBAL OPTIONS",
    ]
    first = next((s for s in root.get("subcommands") or [] if any(set(names(a)) & GLOBAL for a in s.get("arguments") or [])), None)
    for arg in (first or {}).get("arguments") or []:
        if set(names(arg)) & (GLOBAL - {"--help", "--version"}):
            out.append(".TP")
            out.append(f"\\fB{esc(usage_of(arg))}\\fR")
            out.append(esc(arg.get("abstract", "")))
    out.append(".SH COMMANDS")
    for sub in root.get("subcommands") or []:
        if sub["commandName"] == "help" or not sub.get("shouldDisplay", True):
            continue
        command(sub, [name, sub["commandName"]], out)
    out += [
        ".SH ENVIRONMENT",
        ".TP",
        "\\fBCRMD_SOCKET\\fR",
        "crmd's socket, when \\-\\-socket is not given.",
        ".TP",
        "\\fBLANG\\fR",
        "ru_* shows relative dates in Russian (через 3 дня, 3 дня назад).",
        ".TP",
        "\\fBNO_COLOR\\fR",
        "no colors when set.",
        ".SH SEE ALSO",
        "crmd(8); the guides in /usr/local/share/doc/crmd.",
    ]
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
