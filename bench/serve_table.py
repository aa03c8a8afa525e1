#!/usr/bin/env python3
"""Turns the raw output of `bench/run.sh serve` into the markdown tables of BENCHMARKS.md and docs/serving.md.
usage: python3 bench/serve_table.py bench/results/YYYY-MM-DD-serve.txt"""
import re
import statistics
import sys

text = open(sys.argv[1]).read()
sections = re.split(r"^### ", text, flags=re.M)[1:]
line_re = re.compile(r"^(?P<label>[^:\n]+): (?P<value>[0-9.]+) (?:tiles|inferences)/s(?P<rest>.*)$", re.M)


def parse(section):
    rounds, current = [], None
    for line in section.splitlines():
        if line.startswith("-- round"):
            current = {}
            rounds.append(current)
            continue
        m = line_re.match(line)
        if not m:
            continue
        rest = m.group("rest")
        row = {"value": float(m.group("value"))}
        for key, pattern in (("p50", r"p50 ([0-9]+) ms"), ("p99", r"p99 ([0-9]+) ms"), ("rss", r"peak RSS ([0-9]+) MB"), ("input", r"server input ([0-9]+) us")):
            found = re.search(pattern, rest)
            if found:
                row[key] = float(found.group(1))
        if current is None:
            current = {}
            rounds.append(current)
        current[m.group("label")] = row
    return rounds


def spread(values, fmt="{:.1f}"):
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


for section in sections:
    title = section.splitlines()[0]
    rounds = [r for r in parse(section) if r]
    if not rounds:
        continue
    print(f"\n#### {title}\n")
    labels = list(dict.fromkeys(label for r in rounds for label in r))
    base = next((l for l in labels if l.startswith("in-process") and l.endswith("x1")), None)
    print("| run | tiles or inferences/s, median (range) | ratio to in-process, median (range) | p99 ms | peak RSS MB | RSS ratio |")
    print("|---|---|---|---|---|---|")
    for label in labels:
        rows = [(r[label], r.get(base)) for r in rounds if label in r]
        values = [x["value"] for x, _ in rows]
        ratios = [x["value"] / b["value"] for x, b in rows if b]
        rss_ratios = [x["rss"] / b["rss"] for x, b in rows if b and "rss" in x and "rss" in b]
        p99 = [x["p99"] for x, _ in rows if "p99" in x]
        rss = [x["rss"] for x, _ in rows if "rss" in x]
        print(f"| {label} | {spread(values)} | {spread(ratios, '{:.2f}×') if ratios and label != base else '—'} | "
              f"{spread(p99, '{:.0f}') if p99 else '—'} | {spread(rss, '{:.0f}') if rss else '—'} | "
              f"{spread(rss_ratios, '{:.2f}×') if rss_ratios and label != base else '—'} |")
