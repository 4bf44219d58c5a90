"""How `bicycles-meta-2023/` here was cut from the full dump (kept for reproducibility).

A consistent subset: the posts with Id <= MAX_POST (questions, their answers, tag wikis),
and every vote, comment, history row and link on them; the users those records name,
and those users' badges. Lines are copied byte for byte, so the files stay real dump text.

    python tests/data/stackexchange/make_subset.py FULL_DUMP_FOLDER OUT_FOLDER
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

MAX_POST = 250
ATTR = re.compile(rb'(\w+)="([^"]*)"')


def rows(path: Path):
    with open(path, "rb") as f:
        for line in f:
            yield line, dict(ATTR.findall(line)) if b"<row " in line else None


def copy(src: Path, dst: Path, keep) -> None:  # noqa: ANN001
    with open(dst, "wb") as out:
        for line, attrs in rows(src):
            if attrs is None or keep(attrs):
                out.write(line)


def main(full: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    posts = {a[b"Id"] for _, a in rows(full / "Posts.xml") if a and int(a[b"Id"]) <= MAX_POST}
    posts |= {a[b"Id"] for _, a in rows(full / "Posts.xml") if a and a.get(b"ParentId") in posts}
    users: set[bytes] = set()
    for name, user_keys in (
        ("Posts.xml", (b"OwnerUserId",)),
        ("Comments.xml", (b"UserId",)),
        ("PostHistory.xml", (b"UserId",)),
        ("Votes.xml", (b"UserId",)),
    ):
        for _, a in rows(full / name):
            post = a and (a.get(b"Id") if name == "Posts.xml" else a.get(b"PostId"))
            if a and post in posts:
                users |= {a[k] for k in user_keys if k in a}
    copy(full / "Posts.xml", out / "Posts.xml", lambda a: a[b"Id"] in posts)
    for name in ("Comments.xml", "PostHistory.xml", "Votes.xml"):
        copy(full / name, out / name, lambda a: a[b"PostId"] in posts)
    copy(full / "PostLinks.xml", out / "PostLinks.xml", lambda a: a[b"PostId"] in posts)
    copy(full / "Users.xml", out / "Users.xml", lambda a: a[b"Id"] in users)
    copy(full / "Badges.xml", out / "Badges.xml", lambda a: a[b"UserId"] in users)
    copy(full / "Tags.xml", out / "Tags.xml", lambda a: True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
