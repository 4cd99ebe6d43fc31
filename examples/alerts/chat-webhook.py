#!/usr/bin/env python3
"""Post a crmd alert or event to a chat webhook (Mattermost, Slack, Rocket.Chat: {"text": ...}).

Standard library only. Reads one JSON object on stdin: an alert (as crmd's
alerts.delivery_command gives it) or an event (as crm-subscriber.py gives it), and POSTs
{"text": "..."} to the URL. Exits 0 only when the webhook answered 2xx, so crmd (or the
subscriber) retries a failed post.

    alerts:
      delivery_command: "/usr/local/lib/crmd/chat-webhook.py https://chat.example/hooks/abc"
"""

import json
import sys
import urllib.error
import urllib.request

ZONES = {"green": "зелёная", "yellow": "жёлтая", "red": "красная", "released": "на бирже"}


def text_of(item):
    if "message" in item:  # an alert: crmd has already written the sentence
        return f"🔔 {item['message']}"
    data = item.get("data", {})
    name = data.get("name") or f"client #{data.get('client_id')}"
    topic = item.get("topic")
    if topic == "zone.changed":
        zone = data.get("to") or data.get("zone")
        return f"{name}: зона {ZONES.get(zone, zone)} ({zone}), seq {item.get('seq')}"
    if topic == "client.released":
        who = data.get("from_login") or "-"
        return f"{name} ушёл на биржу от {who} (released from {who}): {data.get('reason', '')}, seq {item.get('seq')}"
    return f"{topic}: {json.dumps(data, ensure_ascii=False)}"


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: chat-webhook.py URL  (the alert or event as JSON on stdin)")
    item = json.load(sys.stdin)
    body = json.dumps({"text": text_of(item)}, ensure_ascii=False).encode()
    request = urllib.request.Request(sys.argv[1], data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=20) as reply:
            if not 200 <= reply.status < 300:
                sys.exit(f"chat-webhook: the webhook answered {reply.status}")
    except (urllib.error.URLError, OSError) as e:
        sys.exit(f"chat-webhook: cannot post: {e}")


if __name__ == "__main__":
    main()
