"""Copy the latest benchmark and soak reports into README.md, between their markers."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    readme = REPO / "README.md"
    text = readme.read_text()
    for name, report in (("bench", "latest.md"), ("soak", "soak.md")):
        path = REPO / "bench" / "results" / report
        if not path.exists():
            continue
        body = path.read_text().strip()
        text = re.sub(
            rf"<!-- {name}:start -->.*?<!-- {name}:end -->",
            lambda _m, b=body, n=name: f"<!-- {n}:start -->\n{b}\n<!-- {n}:end -->",
            text,
            flags=re.S,
        )
    readme.write_text(text)


if __name__ == "__main__":
    main()
