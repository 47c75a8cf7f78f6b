#!/usr/bin/env python3
"""Prints the benchmark figures and ratios of BENCHMARKS.md from criterion's output.

Reads the median of each `target/criterion/<group>/<bench>/new/estimates.json` (written by
`cargo bench -p embed-sessions`), the per-sample pairs of `target/criterion/<group>/paired.json`
(written by the interleaved benches, see benches/support/mod.rs), and the
`openssl speed -seconds 3 rsa2048` output saved by `scripts/bench.sh` in
`target/criterion/openssl-rsa2048.txt`, and prints one line per figure: value, reference,
ratio of the medians, paired ratio, target, met or missed.

Usage: scripts/bench-ratios.py [--target-dir DIR] [--markdown] [--check]
  --markdown  print a Markdown table (as pasted into BENCHMARKS.md)
  --check     exit with status 1 when a target is missed or a figure is missing

Python 3 standard library only.
"""

import argparse
import json
import os
import re
import sys


def median_ns(criterion, group, bench):
    """The median (ns) of one benchmark, or None when it has not been run."""
    path = os.path.join(criterion, group, bench, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"]
    except (OSError, KeyError, ValueError):
        return None


def paired_ratio(criterion, group, bench, ref):
    """Median over the samples of `paired.json` of bench/ref (each sample: both contenders'
    median calls in the same time window), or None."""
    path = os.path.join(criterion, group, "paired.json")
    try:
        with open(path) as f:
            data = json.load(f)
        i, j = data["contenders"].index(bench), data["contenders"].index(ref)
        ratios = sorted(s[i] / s[j] for s in data["samples_ns"] if s[i] and s[j])
    except (OSError, KeyError, ValueError):
        return None
    return ratios[len(ratios) // 2] if ratios else None


def openssl_rsa2048(criterion):
    """(sign_ns, verify_ns) from `openssl speed rsa2048` output, or (None, None)."""
    path = os.path.join(criterion, "openssl-rsa2048.txt")
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None, None
    m = re.search(r"^rsa\s+2048 bits\s+([0-9.]+)s\s+([0-9.]+)s", text, re.M)
    if not m:
        return None, None
    return float(m.group(1)) * 1e9, float(m.group(2)) * 1e9


def fmt_time(ns):
    if ns is None:
        return "n/a"
    if ns < 1e3:
        return f"{ns:.0f} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns / 1e6:.2f} ms"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target-dir", default=os.environ.get("CARGO_TARGET_DIR", "target"))
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    crit = os.path.join(args.target_dir, "criterion")
    m = lambda g, b: median_ns(crit, g, b)  # noqa: E731
    ossl_sign, ossl_verify = openssl_rsa2048(crit)

    # (figure, group, bench, reference label, reference group/bench or ns, ratio limit,
    # absolute limit ns). Pairs measured interleaved also get a paired ratio.
    # The session targets are issue 14's (<= 1.05x the hand-written floor, paired).
    P = "paired"
    rows = [
        ("VRPlatform embed session: facade vs reqwest",
         ("vrplatform_embed_session", "facade"), "reqwest",
         ("vrplatform_embed_session", "reqwest"), 1.05, None),
        ("VRPlatform embed session: facade vs generated raw client",
         ("vrplatform_embed_session", "facade"), "raw",
         ("vrplatform_embed_session", "raw"), None, None),
        ("VRPlatform embed session: generated raw client vs reqwest",
         ("vrplatform_embed_session", "raw"), "reqwest",
         ("vrplatform_embed_session", "reqwest"), None, None),
        ("Vlens auth session: facade vs reqwest",
         ("vlens_auth_session", "facade"), "reqwest",
         ("vlens_auth_session", "reqwest"), 1.05, None),
        ("Vlens auth session: facade vs generated raw client",
         ("vlens_auth_session", "facade"), "raw", ("vlens_auth_session", "raw"), None, None),
        ("Vlens auth session: generated raw client vs reqwest",
         ("vlens_auth_session", "raw"), "reqwest",
         ("vlens_auth_session", "reqwest"), None, None),
        ("bunq call: signed (facade) vs unsigned (raw, no hooks)",
         ("bunq_call", "signed"), "unsigned", ("bunq_call", "unsigned"), None, None),
        ("RSA-2048 sign (aws-lc-rs, + base64)",
         ("rsa2048", "sign"), "openssl speed", ossl_sign, 1.5, None),
        ("RSA-2048 verify (aws-lc-rs, + base64)",
         ("rsa2048", "verify"), "openssl speed", ossl_verify, None, None),
        ("RSA-2048 key generation (aws-lc-rs), once per installation",
         ("rsa2048", "generate"), "", None, None, None),
        ("VRPlatform session cache: hit",
         ("vrplatform_cache", "hit"), "", None, None, 1000.0),
        ("Session cache: 1,000 callers, one cold key, vs 1 caller (loopback)",
         ("vrplatform_cache", "cold_1000"), "single", ("vrplatform_cache", "single"), 1.5, None),
        ("Session cache: 1,000 callers joined in one task vs 1 (loopback)",
         ("vrplatform_cache", "cold_1000_joined"), "single_joined",
         ("vrplatform_cache", "single_joined"), 1.5, None),
        ("1,000 no-op tasks spawned and joined (the fan-out's own floor)",
         ("vrplatform_cache", "spawn_1000_noop"), "single",
         ("vrplatform_cache", "single"), None, None),
        ("Session cache: 1,000 callers, one cold key, vs 1 caller (5 ms upstream)",
         ("vrplatform_cache_5ms", "cold_1000"), "single",
         ("vrplatform_cache_5ms", "single"), 1.5, None),
    ]

    missed = False
    lines = []
    for name, (group, bench), ref_name, ref_at, ratio_limit, abs_limit in rows:
        value = m(group, bench)
        if isinstance(ref_at, tuple):
            ref = m(*ref_at)
            pr = paired_ratio(crit, group, bench, ref_at[1]) if ref_at[0] == group else None
        else:
            ref, pr = ref_at, None
        ratio = value / ref if value is not None and ref else None
        decisive = pr if pr is not None else ratio
        if ratio_limit is not None:
            target = f"≤ {ratio_limit:.2f}×"
            ok = decisive is not None and decisive <= ratio_limit
        elif abs_limit is not None:
            target = f"< {fmt_time(abs_limit)}"
            ok = value is not None and value < abs_limit
        else:
            target, ok = "(info)", None
        if ok is False or value is None:
            missed = True
        verdict = {True: "met", False: "MISSED", None: ""}[ok]
        ratio_s = f"{ratio:.2f}×" if ratio is not None else ""
        paired_s = f"{pr:.2f}×" if pr is not None else ""
        ref_s = f"{ref_name} {fmt_time(ref)}" if ref_name else ""
        lines.append((name, fmt_time(value), ref_s, ratio_s, paired_s, target, verdict))

    header = ("Figure", "Median", "Reference (median)", "Ratio", "Paired ratio", "Target", "")
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|---|---:|---|---:|---:|---|---|")
        for row in lines:
            print("| " + " | ".join(row) + " |")
    else:
        table = [header] + lines
        widths = [max(len(r[i]) for r in table) for i in range(len(header))]
        for row in table:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        print("\nRatio: of criterion's medians. Paired ratio: median of per-sample ratios of"
              " calls timed interleaved (paired.json); it decides the target when present.")
    if args.check and missed:
        sys.exit(1)


if __name__ == "__main__":
    main()
