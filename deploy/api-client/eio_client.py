#!/usr/bin/env python3
"""An example client of the node's API (/api/v1/), in plain Python (the standard library only).

It makes an EIO draft from a JSON file (the format of a request's JSON download), fills in
what the completeness check reports from a second file of answers, submits and sends the
request, then polls its state until the executing side has it.

    MLA_API_TOKEN=mla_… python3 eio_client.py --base-url http://127.0.0.1:8000 \\
        --draft eio-draft.json --fixes eio-fixes.json

The token is a personal API token (your account's "API tokens" page) with the scopes
read, draft and send. Every refusal of the node is a problem document (RFC 9457): this
script prints its code and detail and stops.
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

# The states after which the executing side has the request (it reached its node).
ARRIVED = {"delivered", "acknowledged", "assigned", "recognised", "in_execution", "executed"}


class Refused(Exception):
    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {problem.get('code')}: {problem.get('detail')}")
        self.status = status
        self.problem = problem


class Node:
    def __init__(self, base_url: str, token: str) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise SystemExit("The base URL is the node's http(s) address.")
        self.base = base_url.rstrip("/") + "/api/v1"
        self.token = token

    def call(
        self, method: str, path: str, body: Any = None, if_match: str | None = None
    ) -> tuple[dict[str, Any], str]:
        """The JSON answer and its ETag ("" when it has none)."""
        url = self.base + path.removeprefix("/api/v1")
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if if_match:
            headers["If-Match"] = if_match
        # The scheme is the base URL's, checked to be http(s) above.
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # as above
                return json.loads(response.read() or b"{}"), response.headers.get("ETag", "")
        except urllib.error.HTTPError as error:
            raise Refused(error.code, json.loads(error.read() or b"{}")) from None


def fill_in(node: Node, request: dict[str, Any], fixes: dict[str, dict[str, Any]]) -> str:
    """Answer each problem of the completeness check from ``fixes`` (section → field →
    value), one section at a time; the request's new ETag."""
    etag = request["etag"]
    problems, _ = node.call("GET", request["url"] + "problems/")
    sections = sorted({p["section"] for p in problems["problems"] if p["section"] in fixes})
    for code in sections:
        section, _ = node.call("GET", f"{request['url']}sections/{code}/")
        values = {**section["values"], **fixes[code]}
        _, etag = node.call(
            "PUT", f"{request['url']}sections/{code}/", {"values": values}, if_match=etag
        )
    return etag


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    parser.add_argument("--draft", required=True, help="the request as JSON")
    parser.add_argument("--fixes", help="answers to the completeness check, by section")
    parser.add_argument("--poll-seconds", type=float, default=2.0)
    parser.add_argument("--polls", type=int, default=30)
    options = parser.parse_args()
    token = os.environ.get("MLA_API_TOKEN", "")
    if not token:
        print("Set MLA_API_TOKEN to a personal API token.", file=sys.stderr)
        return 2
    node = Node(options.base_url, token)
    with open(options.draft, encoding="utf-8") as draft_file:
        draft = json.load(draft_file)
    fixes = {}
    if options.fixes:
        with open(options.fixes, encoding="utf-8") as fixes_file:
            fixes = json.load(fixes_file)
    try:
        request, etag = node.call("POST", "/requests/", draft)
        print(f"Draft {request['reference']} made.")
        etag = fill_in(node, request, fixes)
        problems, _ = node.call("GET", request["url"] + "problems/")
        for problem in problems["problems"]:
            print(f"Still to do: {problem['section']} {problem['field']}: {problem['message']}")
        if not problems["complete"]:
            return 1
        request, etag = node.call("POST", request["url"] + "steps/submit/", {}, if_match=etag)
        print(f"Submitted: {request['state']}.")
        request, etag = node.call("POST", request["url"] + "steps/send/", {}, if_match=etag)
        print(f"Sent: {request['state']}.")
        for _ in range(options.polls):
            if request["state"] in ARRIVED:
                break
            time.sleep(options.poll_seconds)
            request, etag = node.call("GET", request["url"])
        print(f"{request['reference']} is {request['state']} ({request['state_display']}).")
        return 0 if request["state"] in ARRIVED else 1
    except Refused as refusal:
        print(f"Refused: {refusal}", file=sys.stderr)
        for error in refusal.problem.get("errors", []):
            print(f"  {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
