#!/usr/bin/env python3
"""Where a token's CPU goes on one thread: perf samples of e2e_load, by stage.

  perf record -e cpu-clock -F 4000 -g -o perf.data \\
      build/release/bench/e2e/e2e_load --phases=streams --concurrency=64 --rounds=1 --seconds=4
  perf script -i perf.data -F tid,time,ip,sym,dso > perf.txt
  bench/e2e/token_stages.py perf.txt TID US_PER_TOKEN_ENC US_PER_TOKEN_PLAIN

With --rounds=1 the last two windows of the run are the encrypted round and
then the plaintext round (each --seconds long); the script takes the samples
of thread TID in each window (minus half a second at either edge) and splits
the measured CPU per token by the stage of each sample's leaf symbol.
"""
import collections
import re
import sys

STAGES = [  # (stage, predicate on (symbol, dso)); first match wins
    ("OAE open (AES-GCM, frames)", lambda s, d: "sodium" in d or "Oae" in s or "FrameReader" in s),
    ("TLS records (OpenSSL)", lambda s, d: d.startswith("libssl") or d.startswith("libcrypto")),
    ("HTTP chunk framing (llhttp)", lambda s, d: "llhttp" in s or "MessageReader" in s
     or "BodyReader" in s),
    ("SSE parse / event index", lambda s, d: "SseReader" in s or "ResponseStream" in s
     or "index_oae_event" in s),
    ("TlsStream, TcpStream, runtime", lambda s, d: "cipherline" in s or d.startswith("libuv")),
    ("kernel (sockets, epoll)", lambda s, d: d == "[kernel.kallsyms]"),
    ("libc (copies, allocation)", lambda s, d: d.startswith("libc") or d.startswith("libstdc++")),
    ("other", lambda s, d: True),
]


def samples(path, tid):
    current, when, leaf = None, 0.0, None
    for line in open(path, errors="replace"):
        if not line.strip():
            if current == tid and leaf is not None:
                yield when, leaf
            current, leaf = None, None
            continue
        if not line.startswith(("\t", " " * 8)):
            parts = line.split()
            current, when, leaf = parts[0], float(parts[1].rstrip(":")), None
            continue
        if leaf is None:
            m = re.match(r"\s*[0-9a-f]+\s+(.*)\s+\((.*)\)\s*$", line)
            if m:
                leaf = (m.group(1), m.group(2).split("/")[-1])


def main():
    path, tid, enc_us, plain_us = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    all_samples = list(samples(path, tid))
    end = max(t for t, _ in all_samples)
    seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 4.0
    windows = {"encrypted": (end - 2 * seconds + 0.5, end - seconds - 0.5),
               "plaintext": (end - seconds + 0.5, end - 0.5)}
    per_token = {"encrypted": enc_us, "plaintext": plain_us}
    table = {}
    for mode, (lo, hi) in windows.items():
        counts = collections.Counter()
        for t, (sym, dso) in all_samples:
            if lo <= t <= hi:
                counts[next(name for name, match in STAGES if match(sym, dso))] += 1
        total = sum(counts.values()) or 1
        table[mode] = {name: per_token[mode] * n / total for name, n in counts.items()}
    print("| Stage | Encrypted µs/token | Plaintext µs/token |")
    print("|---|---|---|")
    for name, _ in STAGES:
        e, p = table["encrypted"].get(name, 0), table["plaintext"].get(name, 0)
        if e or p:
            print(f"| {name} | {e:.2f} | {p:.2f} |")
    print(f"| all | {enc_us:.2f} | {plain_us:.2f} |")


if __name__ == "__main__":
    main()
