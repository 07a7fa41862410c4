"""``abacosamples/wc``: Abaco's word-count sample (``samples/word_count/wc.py``), as a local program.

The message is ``{"text": ..., "reducer": <actor id>}`` (read from ``MSG`` with ``literal_eval``, like
agavepy's ``get_context()['message_dict']``) or plain text. Words are counted case-insensitively; the counts
are printed and sent as one **bytes result**, ``json.dumps(counts).encode()``; with a reducer the counts are
also sent to that actor as the message ``{"message": {"count": counts}}`` (agavepy's ``sendMessage`` on the v2
path, with the actor's own token: the actor needs ``token: true``). The reducer must be an actor id or alias
(letters, digits, ``_``, ``-``, ``.``): agavepy puts it into the URL as one encoded path segment, and a raw
``<id>/state?`` would otherwise steer the owner's token to another route; anything else prints
``Invalid reducer`` and sends nothing.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request

from swan_jupyter.sandbox.abaco.images.support import get_context, send_bytes_result

REDUCER = re.compile(r"[A-Za-z0-9_.-]+")


def _send_to_reducer(reducer: str, counts: dict[str, int]) -> None:
    if not REDUCER.fullmatch(reducer) or set(reducer) == {"."}:
        print(f"Invalid reducer {reducer!r}: an actor id or alias is expected; nothing sent.")
        return
    env = os.environ
    base = env.get("_abaco_api_server", "")
    header = env.get("_abaco_jwt_header_name") or "X-Tapis-Token"
    body = json.dumps({"message": {"count": counts}}).encode()
    request = urllib.request.Request(f"{base}/actors/v2/{reducer}/messages", data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              header: env.get("_abaco_access_token", "")})
    with urllib.request.urlopen(request, timeout=30) as answer:
        answer.read()


def main() -> None:
    """Count, print, send the result (and the counts to the reducer, if any)."""
    context = get_context()
    try:
        text = context["message_dict"]["text"]
        reducer = context["message_dict"]["reducer"]
        print("Got JSON.")
    except Exception:
        print("Didnt get JSON, using raw message.")
        reducer = None
        text = context["raw_message"]
    counts: dict[str, int] = {}
    for word in text.split():  # no message text (a binary message) fails, as in the sample
        key = word.lower()
        counts[key] = counts.get(key, 0) + 1
    print("Final word count:")
    for key, value in counts.items():
        print(f"{key}: {value}")
    print("Sending bytes result")
    send_bytes_result(json.dumps(counts).encode())
    if reducer:
        print(f"Sending message to reducer {reducer}")
        _send_to_reducer(str(reducer), counts)
    else:
        print("skipping reducer")


if __name__ == "__main__":
    main()
