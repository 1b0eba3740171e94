#!/usr/bin/env python3
"""Checks a finished `cipherline batch` run: every input line has exactly one
line in the output or the errors file, and every answer echoes its prompt
(the synthetic model answers with the last user message or the prompt)."""
import json
import sys

input_path, output_path, errors_path = sys.argv[1:4]
expected = {}   # custom_id -> prompt, for the valid lines
invalid_lines = set()
seen_ids = set()
for number, text in enumerate(open(input_path, encoding="utf-8"), start=1):
    try:
        line = json.loads(text)
        cid = line["custom_id"]
        assert isinstance(cid, str) and cid and line["method"] == "POST"
        assert line["url"] in ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")
        assert isinstance(line["body"], dict)
        assert cid not in seen_ids
    except Exception:
        invalid_lines.add(number)
        continue
    seen_ids.add(cid)
    body = line["body"]
    expected[cid] = (line["url"], body["messages"][-1]["content"] if "messages" in body
                     else body.get("prompt", body.get("input")))

failures = []
answered = {}
for number, text in enumerate(open(output_path, encoding="utf-8"), start=1):
    if not text.endswith("\n"):
        failures.append(f"output line {number} is torn")
        continue
    line = json.loads(text)
    cid = line["custom_id"]
    if cid in answered:
        failures.append(f"custom_id {cid} answered twice (output lines {answered[cid]} and {number})")
    answered[cid] = number
    if cid not in expected:
        failures.append(f"output line {number}: custom_id {cid} is not a valid input line")
        continue
    if line["error"] is not None or line["response"]["status_code"] != 200:
        failures.append(f"custom_id {cid} failed: {line['error']}")
        continue
    url, prompt = expected[cid]
    body = line["response"]["body"]
    if url == "/v1/chat/completions":
        got = body["choices"][0]["message"]["content"]
    elif url == "/v1/completions":
        got = body["choices"][0]["text"]
    else:
        got = prompt if body["data"][0]["embedding"] else None
    if got != prompt:
        failures.append(f"custom_id {cid}: answer {got!r} does not echo {prompt!r}")
missing = set(expected) - set(answered)
if missing:
    failures.append(f"{len(missing)} valid lines never answered, e.g. {sorted(missing)[:5]}")

reported = {}
for number, text in enumerate(open(errors_path, encoding="utf-8"), start=1):
    line = json.loads(text)
    if line["line"] in reported:
        failures.append(f"input line {line['line']} reported twice as invalid")
    reported[line["line"]] = line["error"]
if set(reported) != invalid_lines:
    failures.append(f"invalid lines reported {sorted(reported)}, expected {sorted(invalid_lines)}")

if failures:
    print("\n".join(failures[:20]))
    sys.exit(1)
print(f"exactly once: {len(answered)} answers, {len(reported)} invalid lines, all answers echo their prompts")
