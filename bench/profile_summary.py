"""Summarise a py-spy raw (collapsed stacks) report: where the bot spent its time.

    .venv/bin/python -m bench.profile_summary PROFILE.txt [--top 25]

Prints the functions with the most samples on the stack (inclusive) and at the top of the
stack (self), our own code (bot/, handlers/) marked.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def summarise(path: Path, top: int = 25) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count
    lines = [f"{total} samples", "", "inclusive (on the stack):"]
    for frame, count in inclusive.most_common(top):
        lines.append(f"  {100 * count / total:5.1f}%  {frame}")
    lines += ["", "self (running):"]
    for frame, count in own.most_common(top):
        lines.append(f"  {100 * count / total:5.1f}%  {frame}")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--top", type=int, default=25)
    arguments = parser.parse_args()
    print(summarise(arguments.path, arguments.top))
