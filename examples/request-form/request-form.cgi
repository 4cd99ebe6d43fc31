#!/usr/bin/env python3
"""A web form's request, handed to crmd: a one-file CGI (Python 3 standard library only).

The web server runs it for a POST of the site's form (application/x-www-form-urlencoded fields
name, phone, email, text, topic). It runs `crmctl request add` with the fields as separate argv
items, never through a shell, so nothing a visitor types is ever interpreted. The web server's
uid is mapped to an operator account in crmd (docs/protocol.md, request.create).

Environment: CRMCTL (default: crmctl on PATH), CRMD_SOCKET (crmd's socket, if not the default),
REQUEST_SOURCE (default: form). Answers 303 to REDIRECT_OK (default: /thanks.html) or 400/502
with a short plain-text line.
"""
import os
import subprocess
import sys
import urllib.parse

FIELDS = {"name": 200, "phone": 64, "email": 254, "text": 4000, "topic": 40}
MAX_BODY = 64 * 1024


def reply(status, text, location=None):
    sys.stdout.write(f"Status: {status}\r\nContent-Type: text/plain; charset=utf-8\r\n")
    if location:
        sys.stdout.write(f"Location: {location}\r\n")
    sys.stdout.write("\r\n" + text + "\n")
    sys.stdout.flush()


def main():
    if os.environ.get("REQUEST_METHOD") != "POST":
        return reply("405 Method Not Allowed", "POST the form.")
    try:
        length = int(os.environ.get("CONTENT_LENGTH") or "0")
    except ValueError:
        length = -1
    if length < 0 or length > MAX_BODY:
        return reply("400 Bad Request", "The form is too large.")
    body = sys.stdin.buffer.read(length).decode("utf-8", "replace")
    form = urllib.parse.parse_qs(body, keep_blank_values=False)
    argv = [os.environ.get("CRMCTL", "crmctl"), "request", "add", "--quiet",
            "--source", os.environ.get("REQUEST_SOURCE", "form")]
    given = set()
    for field, limit in FIELDS.items():
        value = (form.get(field) or [""])[0].strip()[:limit]
        if value:
            # One argv item, --field=value: a value that looks like an option ("--socket=...")
            # stays the field's value and is never read as an option of crmctl's.
            argv.append(f"--{field}={value}")
            given.add(field)
    if not given & {"name", "phone", "email"}:
        return reply("400 Bad Request", "Give a name, a phone or an e-mail.")
    if os.environ.get("CRMD_SOCKET"):
        argv += ["--socket", os.environ["CRMD_SOCKET"]]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        return reply("502 Bad Gateway", "The request could not be saved; please call us.")
    return reply("303 See Other", "request " + done.stdout.strip(), os.environ.get("REDIRECT_OK", "/thanks.html"))


if __name__ == "__main__":
    main()
