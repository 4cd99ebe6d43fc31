#!/usr/bin/env python3
"""Forward crmd's zone changes and releases to a command (a chat webhook, a ticket system).

Standard library only. Connects to crmd's socket, subscribes with `since` = the last seq it
handed on (kept in a state file), and for every event runs COMMAND with the event as one JSON
object on stdin. The seq is saved only after COMMAND exits 0, so after a restart, a lost
connection or a failed command, nothing is skipped and nothing already forwarded is sent again.

    crm-subscriber.py --state /var/lib/crm-subscriber/seq -- ./chat-webhook.py https://chat.example/hook

The first run (no state file) starts from the events that come next; --since 0 replays the log.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

DEFAULT_TOPICS = ["zone.changed", "client.released"]


def default_socket():
    if os.environ.get("CRMD_SOCKET"):
        return os.environ["CRMD_SOCKET"]
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.exists(os.path.join(runtime, "crmd", "crmd.sock")):
        return os.path.join(runtime, "crmd", "crmd.sock")
    return "/run/crmd/crmd.sock"


def load_seq(path):
    try:
        with open(path, encoding="utf-8") as f:
            return int(f.read().strip())
    except FileNotFoundError:
        return None


def save_seq(path, seq):
    """Write the seq so that a crash leaves either the old or the new value, never half."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(f"{seq}\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    folder = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def log(message):
    print(f"crm-subscriber: {message}", file=sys.stderr, flush=True)


class Lines:
    """Line-delimited JSON from a socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def next(self):
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("crmd closed the connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)


def forward(command, event, timeout):
    """Run the command with the event on stdin until it succeeds (back-off up to a minute)."""
    delay = 1
    while True:
        try:
            done = subprocess.run(command, input=json.dumps(event, ensure_ascii=False).encode(), timeout=timeout)
            if done.returncode == 0:
                return
            log(f"{command[0]} exited {done.returncode} for seq {event['seq']}; retrying in {delay} s")
        except (OSError, subprocess.TimeoutExpired) as e:
            log(f"{command[0]} failed for seq {event['seq']}: {e}; retrying in {delay} s")
        time.sleep(delay)
        delay = min(delay * 2, 60)


def run_once(args, command):
    """One connection: subscribe from the saved seq and forward until the connection ends."""
    seq = load_seq(args.state)
    if seq is None:
        seq = args.since
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(args.socket)
    lines = Lines(sock)
    params = {"topics": args.topic or DEFAULT_TOPICS}
    if seq is not None:
        params["since"] = seq
    sock.sendall((json.dumps({"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": params}) + "\n").encode())
    while True:
        message = lines.next()
        if message.get("id") == 1:
            if "error" in message:
                raise SystemExit(f"crm-subscriber: crmd refused the subscription: {message['error'].get('message')}")
            if seq is None:  # first run: start after what is in the log now
                save_seq(args.state, message["result"]["seq"])
            log(f"subscribed after seq {seq if seq is not None else message['result']['seq']}")
            continue
        if message.get("method") != "event":
            if message.get("method") == "subscription.closed":
                raise ConnectionError("crmd closed the subscription (the reader was too slow)")
            continue
        event = message["params"]
        forward(command, event, args.timeout)
        save_seq(args.state, event["seq"])
        if args.exit_after is not None:
            args.exit_after -= 1
            if args.exit_after <= 0:
                return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--socket", default=default_socket(), help="crmd's socket (default: CRMD_SOCKET or the usual places)")
    parser.add_argument("--state", required=True, help="file that keeps the last forwarded seq")
    parser.add_argument("--topic", action="append", help="a topic to forward (repeat; default zone.changed and client.released)")
    parser.add_argument("--since", type=int, default=None, help="with no state file yet, replay the events after this seq")
    parser.add_argument("--timeout", type=float, default=30, help="seconds one run of the command may take")
    parser.add_argument("--exit-after", type=int, default=None, help="stop after forwarding this many events (for tests)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command that gets each event on stdin")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run for each event after --")
    # A parent may have left SIGTERM blocked (it is inherited): stop on it all the same.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    delay = 1
    while True:
        try:
            if run_once(args, command):
                return
            delay = 1
        except (OSError, ConnectionError, ValueError) as e:
            log(f"{e}; reconnecting in {delay} s")
            time.sleep(delay)
            delay = min(delay * 2, 30)


if __name__ == "__main__":
    main()
