"""Stack Exchange data dump folder (Posts, Users, Votes, Comments, Badges, Tags, PostLinks, PostHistory).

Mapping (docs/connectors.md has the full table); `<site>` is the folder name
(a `.stackexchange.com` suffix dropped) or `--site`; `pre` = `stackexchange:<site>:`.

- Users.xml -> profiles `stackexchange:<site>:<Id>` (+ `stackexchange:account:<AccountId>`,
  the network-wide account, so one person's accounts on several sites link), display
  name, location; reputation, votes cast, website and badges (counts by class and the
  tag badges, Badges.xml) in `extra`.
- Posts.xml -> items `pre post:<Id>`: question (1), answer (2, parent = the question),
  tagwiki (3, 4, 5; title = the tag from Tags.xml), wiki (7, 8), post (6); body as plain
  text; tags; score, views, accepted answer, closed date, licence and the post's links
  (PostLinks.xml: linked / duplicate) in `extra`. A `Create` event by the owner.
- Comments.xml -> items `pre comment:<Id>` (kind comment, parent = the post) and a
  `Create` by the commenter.
- Votes.xml: 2/3 -> `Vote` value +1/-1, actor NULL (voters are anonymous), object the
  post (so it is credited to the post's author); 1 -> `Accept` by the asker on the
  answer (Posts.AcceptedAnswerId without such a vote too); 5 -> `Add` (bookmark) by the
  voter; 8 -> `Invite` by the bounty offerer on the question (value = amount); 9 on an
  answer -> `Kudos` from the bounty offerer to the answer's author (ctx_item = the
  answer, value = amount). Moderation votes (close, delete, spam, ...) are not social
  signals: quarantined as "not mapped".
- PostHistory.xml: edits and rollbacks (4-9, 24), one `Update` per revision (the rows of
  one RevisionGUID). Initial revisions (1-3) are the Create already made from Posts;
  moderation history is quarantined as "not mapped".
- Posts and comments of deleted accounts (no OwnerUserId/UserId) become items with no
  author and no Create event (the name shown on the site is kept in `extra`).

Parsing streams each file through `xml_rows` (constant memory, entity expansion
refused, truncated or malformed records quarantined with file and line) into a
temporary DuckDB file; the joins (asker of an accepted answer, owner of a bounty)
and the mapping run there as SQL, and the canonical rows come out as Arrow batches.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa

from resonance.sources.base import Source, SourceError
from resonance.sources.delimited import staging_connection
from resonance.sources.xml_rows import iter_xml_rows
from resonance.store.loader import Batch

SOURCE = "stackexchange"
OUT_ROWS = 100_000

FILES: dict[str, list[str]] = {
    "posts": [
        "Id",
        "PostTypeId",
        "AcceptedAnswerId",
        "ParentId",
        "CreationDate",
        "Score",
        "ViewCount",
        "Body",
        "OwnerUserId",
        "OwnerDisplayName",
        "Title",
        "Tags",
        "AnswerCount",
        "CommentCount",
        "FavoriteCount",
        "ClosedDate",
        "CommunityOwnedDate",
        "ContentLicense",
    ],
    "users": [
        "Id",
        "Reputation",
        "CreationDate",
        "DisplayName",
        "Location",
        "WebsiteUrl",
        "Views",
        "UpVotes",
        "DownVotes",
        "AccountId",
    ],
    "votes": ["Id", "PostId", "VoteTypeId", "CreationDate", "UserId", "BountyAmount"],
    "comments": [
        "Id",
        "PostId",
        "Score",
        "Text",
        "CreationDate",
        "UserId",
        "UserDisplayName",
        "ContentLicense",
    ],
    "badges": ["Id", "UserId", "Name", "Date", "Class", "TagBased"],
    "tags": ["Id", "TagName", "Count", "ExcerptPostId", "WikiPostId"],
    "postlinks": ["Id", "CreationDate", "PostId", "RelatedPostId", "LinkTypeId"],
    "posthistory": [
        "Id",
        "PostHistoryTypeId",
        "PostId",
        "RevisionGUID",
        "CreationDate",
        "UserId",
        "UserDisplayName",
        "Comment",
    ],
}

POST_KINDS = {
    "1": "question",
    "2": "answer",
    "3": "tagwiki",
    "4": "tagwiki",
    "5": "tagwiki",
    "6": "post",
    "7": "wiki",
    "8": "wiki",
}

VOTE_TYPES = {
    "1": "AcceptedByOriginator",
    "2": "UpMod",
    "3": "DownMod",
    "4": "Offensive",
    "5": "Favorite",
    "6": "Close",
    "7": "Reopen",
    "8": "BountyStart",
    "9": "BountyClose",
    "10": "Deletion",
    "11": "Undeletion",
    "12": "Spam",
    "13": "InformModerator",
    "14": "ModeratorReview",
    "15": "ModeratorReview",
    "16": "ApproveEditSuggestion",
    "17": "Reaction",
    "18": "Helpful",
    "19": "ThankYou",
    "20": "WellWritten",
    "21": "Follow",
}
MAPPED_VOTES = ("1", "2", "3", "5", "8", "9")

HISTORY_TYPES = {
    "1": "Initial Title",
    "2": "Initial Body",
    "3": "Initial Tags",
    "4": "Edit Title",
    "5": "Edit Body",
    "6": "Edit Tags",
    "7": "Rollback Title",
    "8": "Rollback Body",
    "9": "Rollback Tags",
    "10": "Post Closed",
    "11": "Post Reopened",
    "12": "Post Deleted",
    "13": "Post Undeleted",
    "14": "Post Locked",
    "15": "Post Unlocked",
    "16": "Community Owned",
    "17": "Post Migrated",
    "18": "Question Merged",
    "19": "Question Protected",
    "20": "Question Unprotected",
    "21": "Post Disassociated",
    "22": "Question Unmerged",
    "24": "Suggested Edit Applied",
    "25": "Post Tweeted",
    "31": "Comment discussion moved to chat",
    "33": "Post Notice Added",
    "34": "Post Notice Removed",
    "35": "Post Migrated Away",
    "36": "Post Migrated Here",
    "37": "Post Merge Source",
    "38": "Post Merge Destination",
    "50": "Bumped by Community User",
    "52": "Question became hot network question",
    "53": "Question removed from hot network questions by a moderator",
    "66": "Created from Ask Wizard",
}
EDIT_TYPES = ("4", "5", "6", "7", "8", "9", "24")
INITIAL_TYPES = ("1", "2", "3")


def _lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _map_sql(mapping: dict[str, str]) -> str:
    keys = ", ".join(_lit(k) for k in mapping)
    values = ", ".join(_lit(v) for v in mapping.values())
    return f"MAP([{keys}], [{values}])"


def default_site(folder: Path) -> str:
    """The site name of a dump folder: its name, without a `.stackexchange.com` suffix."""
    name = folder.resolve().name
    for suffix in (".stackexchange.com", ".com"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


class StackExchangeSource(Source):
    kind = "stackexchange"
    summary = "Stack Exchange data dump folder (Posts, Users, Votes, Comments, Badges, Tags, PostLinks, ...)"
    option_help = {
        "site": "site name in identity keys and item ids (default: the folder name)",
        "base_url": "site URL for item links, e.g. https://quantumcomputing.stackexchange.com",
    }

    def read(self, path: Path) -> Iterator[Batch]:
        """Read one dump folder, or a folder of dump folders (one site each, named after its folder)."""
        if not path.is_dir():
            raise SourceError(f"{path}: a Stack Exchange dump is a folder (Posts.xml, Users.xml, ...)")
        found = self._find_files(path)
        if found:
            yield from self._read_dump(path, found, str(self.options.get("site") or default_site(path)))
            return
        dumps = [(sub, self._find_files(sub)) for sub in sorted(path.iterdir()) if sub.is_dir()]
        dumps = [(sub, files) for sub, files in dumps if files]
        if not dumps:
            raise SourceError(
                f"{path}: no Stack Exchange dump files ({', '.join(n.title() + '.xml' for n in FILES)})"
            )
        if self.options.get("site") and len(dumps) > 1:
            raise SourceError(f"{path} holds {len(dumps)} dumps: --site names one; give one dump folder")
        for sub, files in dumps:
            yield from self._read_dump(sub, files, str(self.options.get("site") or default_site(sub)))

    def _read_dump(self, path: Path, found: dict[str, Path], site: str) -> Iterator[Batch]:
        base_url = str(self.options.get("base_url") or "").rstrip("/")
        workdir = Path(tempfile.mkdtemp(prefix="resonance-se-"))
        con = staging_connection(sum(f.stat().st_size for f in found.values()), workdir)
        try:
            con.execute("SET preserve_insertion_order = false")
            rejects = self._stage(con, found)
            yield from self._map(con, site, base_url, rejects)
        finally:
            con.close()
            shutil.rmtree(workdir, ignore_errors=True)

    @staticmethod
    def _find_files(folder: Path) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for file in sorted(folder.iterdir()):
            name = file.name.lower()
            for suffix in (".xml", ".xml.gz"):
                if name.endswith(suffix) and name[: -len(suffix)] in FILES and file.is_file():
                    found[name[: -len(suffix)]] = file
        return found

    # -- 1. stream every file into a staging table ----------------------------------------
    def _stage(self, con: duckdb.DuckDBPyConnection, found: dict[str, Path]) -> list[tuple]:
        """Load each file's rows (all VARCHAR, with line numbers) into staging tables;
        return the XML-level problems as reject tuples."""
        problems: list[tuple] = []
        for table, attributes in FILES.items():
            columns = ", ".join(f'"{a}" VARCHAR' for a in attributes)
            con.execute(f"CREATE TABLE {table} (line BIGINT, {columns})")
            con.execute(
                f"CREATE TABLE {table}_file AS SELECT ?::VARCHAR AS file", [str(found.get(table, ""))]
            )
            if table not in found:
                continue
            for block in iter_xml_rows(found[table], attributes):
                if block.table is not None:
                    con.register("_block", block.table)
                    con.execute(f"INSERT INTO {table} SELECT * FROM _block")
                    con.unregister("_block")
                problems.extend(
                    (SOURCE, str(found[table]), p.line, p.field, p.reason, p.raw) for p in block.problems
                )
        return problems

    # -- 2. map staged rows to canonical rows in SQL ---------------------------------------
    def _map(
        self, con: duckdb.DuckDBPyConnection, site: str, base_url: str, xml_problems: list[tuple]
    ) -> Iterator[Batch]:
        pre = _lit(f"stackexchange:{site}:")
        nid = _lit(f"{site}:")
        con.execute(_CHECK_SQL)
        # Profiles first (so people exist before their items), then items, then events.
        profiles_sql = _PROFILES_SQL.format(pre=pre, nid=nid)
        items_sql = _ITEMS_SQL.format(pre=pre, nid=nid, site=_lit(site), base=_lit(base_url))
        events_sql = _EVENTS_SQL.format(
            pre=pre,
            nid=nid,
            vote_names=_map_sql(VOTE_TYPES),
            mapped=", ".join(map(_lit, MAPPED_VOTES)),
            edit_types=", ".join(map(_lit, EDIT_TYPES)),
            history_names=_map_sql(HISTORY_TYPES),
        )
        rejects_sql = _REJECTS_SQL.format(
            pre=pre,
            vote_names=_map_sql(VOTE_TYPES),
            mapped=", ".join(map(_lit, MAPPED_VOTES)),
            edit_types=", ".join(map(_lit, EDIT_TYPES)),
            initial_types=", " + ", ".join(map(_lit, INITIAL_TYPES)),
            history_names=_map_sql(HISTORY_TYPES),
        )
        for name, sql in (
            ("profiles", profiles_sql),
            ("items", items_sql),
            ("events", events_sql),
            ("rejects", rejects_sql),
        ):
            reader = con.sql(sql).to_arrow_reader(OUT_ROWS)
            for record_batch in reader:
                if record_batch.num_rows:
                    yield Batch(**{name: pa.Table.from_batches([record_batch])})
        if xml_problems:
            yield Batch(
                rejects=pa.table(
                    {
                        "source": [p[0] for p in xml_problems],
                        "file": [p[1] for p in xml_problems],
                        "line": pa.array([p[2] for p in xml_problems], pa.int64()),
                        "field": [p[3] for p in xml_problems],
                        "reason": [p[4] for p in xml_problems],
                        "raw": [p[5] for p in xml_problems],
                    }
                )
            )


# Validity of each staged record; `ok` rows are the first copy of a well-formed record.
_CHECK_SQL = """
CREATE MACRO nz(x) AS CASE WHEN x IS NULL OR trim(x) = '' THEN NULL ELSE x END;
CREATE MACRO ts(x) AS try_cast(x AS TIMESTAMP);
CREATE MACRO html_text(x) AS replace(replace(replace(replace(replace(
    regexp_replace(regexp_replace(x, '<(br|/p|/li|/h[1-6]|/pre|/blockquote)[^>]*>', chr(10), 'gi'),
                   '<[^>]*>', '', 'g'),
    '&lt;', '<'), '&gt;', '>'), '&quot;', '"'), '&#39;', ''''), '&amp;', '&');

CREATE TABLE posts_c AS SELECT *,
    CASE WHEN nz(Id) IS NULL THEN 'Id'
         WHEN nz(PostTypeId) IS NULL OR PostTypeId NOT IN ('1','2','3','4','5','6','7','8') THEN 'PostTypeId'
         WHEN ts(CreationDate) IS NULL THEN 'CreationDate' END AS bad,
    row_number() OVER (PARTITION BY Id ORDER BY line) AS copy_no,
    min(line) OVER (PARTITION BY Id) AS first_line
FROM posts;
CREATE TABLE posts_ok AS SELECT * EXCLUDE (bad, copy_no, first_line), ts(CreationDate) AS created
FROM posts_c WHERE bad IS NULL AND copy_no = 1;

CREATE TABLE comments_c AS SELECT *,
    CASE WHEN nz(Id) IS NULL THEN 'Id' WHEN nz(PostId) IS NULL THEN 'PostId'
         WHEN ts(CreationDate) IS NULL THEN 'CreationDate' END AS bad,
    row_number() OVER (PARTITION BY Id ORDER BY line) AS copy_no,
    min(line) OVER (PARTITION BY Id) AS first_line
FROM comments;
CREATE TABLE comments_ok AS SELECT * EXCLUDE (bad, copy_no, first_line), ts(CreationDate) AS created
FROM comments_c WHERE bad IS NULL AND copy_no = 1;

CREATE TABLE users_c AS SELECT *,
    CASE WHEN nz(Id) IS NULL THEN 'Id' END AS bad,
    row_number() OVER (PARTITION BY Id ORDER BY line) AS copy_no,
    min(line) OVER (PARTITION BY Id) AS first_line
FROM users;
CREATE TABLE users_ok AS SELECT * EXCLUDE (bad, copy_no, first_line) FROM users_c
WHERE bad IS NULL AND copy_no = 1;

CREATE TABLE votes_c AS SELECT *,
    CASE WHEN nz(Id) IS NULL THEN 'Id' WHEN nz(PostId) IS NULL THEN 'PostId'
         WHEN nz(VoteTypeId) IS NULL THEN 'VoteTypeId'
         WHEN ts(CreationDate) IS NULL THEN 'CreationDate' END AS bad,
    row_number() OVER (PARTITION BY Id ORDER BY line) AS copy_no,
    min(line) OVER (PARTITION BY Id) AS first_line
FROM votes;
CREATE TABLE votes_ok AS SELECT * EXCLUDE (bad, copy_no, first_line), ts(CreationDate) AS created
FROM votes_c WHERE bad IS NULL AND copy_no = 1;

CREATE TABLE history_c AS SELECT *,
    CASE WHEN nz(Id) IS NULL THEN 'Id' WHEN nz(PostId) IS NULL THEN 'PostId'
         WHEN nz(PostHistoryTypeId) IS NULL THEN 'PostHistoryTypeId'
         WHEN ts(CreationDate) IS NULL THEN 'CreationDate' END AS bad,
    row_number() OVER (PARTITION BY Id ORDER BY line) AS copy_no,
    min(line) OVER (PARTITION BY Id) AS first_line
FROM posthistory;
CREATE TABLE history_ok AS SELECT * EXCLUDE (bad, copy_no, first_line), ts(CreationDate) AS created
FROM history_c WHERE bad IS NULL AND copy_no = 1;

CREATE TABLE links_c AS SELECT *,
    CASE WHEN nz(Id) IS NULL THEN 'Id' WHEN nz(PostId) IS NULL THEN 'PostId'
         WHEN nz(RelatedPostId) IS NULL THEN 'RelatedPostId'
         WHEN PostId NOT IN (SELECT Id FROM posts_ok) THEN 'PostId' END AS bad,
    row_number() OVER (PARTITION BY Id ORDER BY line) AS copy_no,
    min(line) OVER (PARTITION BY Id) AS first_line
FROM postlinks;

CREATE TABLE badges_c AS SELECT *,
    CASE WHEN nz(Id) IS NULL THEN 'Id' WHEN nz(UserId) IS NULL THEN 'UserId' WHEN nz(Name) IS NULL THEN 'Name'
         WHEN UserId NOT IN (SELECT Id FROM users_ok) THEN 'UserId' END AS bad,
    row_number() OVER (PARTITION BY Id ORDER BY line) AS copy_no,
    min(line) OVER (PARTITION BY Id) AS first_line
FROM badges;

-- Tag of each tag-wiki post (a post is a tag's wiki or its excerpt).
CREATE TABLE tag_wikis AS
SELECT DISTINCT ON (post_id) post_id, tag FROM (
    SELECT WikiPostId AS post_id, TagName AS tag FROM tags WHERE nz(WikiPostId) IS NOT NULL
    UNION ALL SELECT ExcerptPostId, TagName FROM tags WHERE nz(ExcerptPostId) IS NOT NULL);

-- The asker of each answer (for Accept) and the offerer of each bounty (for its award).
CREATE TABLE answer_asker AS
SELECT a.Id AS answer_id, a.ParentId AS question_id, nz(q.OwnerUserId) AS asker, nz(a.OwnerUserId) AS answerer
FROM posts_ok a LEFT JOIN posts_ok q ON q.Id = a.ParentId WHERE a.PostTypeId = '2';
CREATE TABLE bounty_starts AS
SELECT PostId AS question_id, created, UserId AS offerer, try_cast(BountyAmount AS DOUBLE) AS amount
FROM votes_ok WHERE VoteTypeId = '8' AND nz(UserId) IS NOT NULL;
-- A bounty close on an answer is its award; the offerer is the last bounty started on its question.
CREATE TABLE bounty_awards AS
SELECT x.vote_id, x.answer_id, x.answerer, b.offerer, coalesce(x.amount, b.amount) AS amount
FROM (SELECT v.Id AS vote_id, v.created, try_cast(v.BountyAmount AS DOUBLE) AS amount, aa.*
      FROM votes_ok v JOIN answer_asker aa ON aa.answer_id = v.PostId WHERE v.VoteTypeId = '9') x
ASOF LEFT JOIN bounty_starts b ON b.question_id = x.question_id AND x.created >= b.created;
"""

_PROFILES_SQL = """
WITH badge_counts AS (
    SELECT UserId,
        count(*) FILTER (WHERE Class = '1') AS gold,
        count(*) FILTER (WHERE Class = '2') AS silver,
        count(*) FILTER (WHERE Class = '3') AS bronze,
        list(DISTINCT Name || CASE Class WHEN '1' THEN ' (gold)' WHEN '2' THEN ' (silver)'
                                         ELSE ' (bronze)' END
             ORDER BY Name || CASE Class WHEN '1' THEN ' (gold)' WHEN '2' THEN ' (silver)'
                                         ELSE ' (bronze)' END)
            FILTER (WHERE TagBased = 'True') AS tag_badges
    FROM badges_c WHERE bad IS NULL AND copy_no = 1 GROUP BY UserId
)
SELECT 'stackexchange' AS source, {nid} || u.Id AS native_id,
    list_filter([{pre} || u.Id,
                 CASE WHEN nz(u.AccountId) IS NOT NULL THEN 'stackexchange:account:' || u.AccountId END],
                lambda x: x IS NOT NULL) AS identities,
    nz(u.DisplayName) AS display_name, []::VARCHAR[] AS emails, []::VARCHAR[] AS handles,
    nz(u.Location) AS location,
    to_json({{
        'reputation': try_cast(u.Reputation AS BIGINT), 'created': ts(u.CreationDate),
        'views': try_cast(u.Views AS BIGINT), 'up_votes': try_cast(u.UpVotes AS BIGINT),
        'down_votes': try_cast(u.DownVotes AS BIGINT), 'website': nz(u.WebsiteUrl),
        'account_id': nz(u.AccountId),
        'badges': {{'gold': coalesce(b.gold, 0), 'silver': coalesce(b.silver, 0),
                    'bronze': coalesce(b.bronze, 0),
                    'tag_badges': coalesce(b.tag_badges, [])}}
    }})::VARCHAR AS extra,
    f.file, u.line, NULL::VARCHAR AS raw
FROM users_ok u LEFT JOIN badge_counts b ON b.UserId = u.Id, users_file f
"""

_ITEMS_SQL = """
WITH links AS (
    SELECT PostId, list({{'item': {pre} || 'post:' || RelatedPostId,
                          'type': CASE LinkTypeId WHEN '1' THEN 'linked' WHEN '3' THEN 'duplicate'
                                                  ELSE 'type ' || coalesce(LinkTypeId, '?') END}}
                        ORDER BY try_cast(Id AS BIGINT), Id) AS links
    FROM links_c WHERE bad IS NULL AND copy_no = 1 GROUP BY PostId
)
SELECT {pre} || 'post:' || p.Id AS item_id, 'stackexchange' AS source, {nid} || 'post:' || p.Id AS native_id,
    {kinds}[p.PostTypeId] AS kind,
    CASE WHEN nz(p.OwnerUserId) IS NOT NULL THEN {pre} || p.OwnerUserId END AS author,
    CASE WHEN nz(p.ParentId) IS NOT NULL THEN {pre} || 'post:' || p.ParentId END AS parent_id,
    'stackexchange:' || {site} AS container,
    coalesce(nz(p.Title), t.tag) AS title,
    html_text(p.Body) AS text,
    CASE WHEN nz(p.Tags) IS NOT NULL
         THEN list_filter(regexp_split_to_array(p.Tags, '[<>|]+'), lambda x: x <> '')
         WHEN t.tag IS NOT NULL THEN [t.tag] ELSE []::VARCHAR[] END AS tags,
    p.created,
    CASE WHEN {base} = '' THEN NULL
         WHEN p.PostTypeId = '2' THEN {base} || '/a/' || p.Id ELSE {base} || '/q/' || p.Id END AS url,
    to_json({{
        'score': try_cast(p.Score AS BIGINT), 'views': try_cast(p.ViewCount AS BIGINT),
        'answers': try_cast(p.AnswerCount AS BIGINT), 'comments': try_cast(p.CommentCount AS BIGINT),
        'favorites': try_cast(p.FavoriteCount AS BIGINT),
        'accepted_answer': CASE WHEN nz(p.AcceptedAnswerId) IS NOT NULL
                                THEN {pre} || 'post:' || p.AcceptedAnswerId END,
        'closed': ts(p.ClosedDate), 'community_owned': ts(p.CommunityOwnedDate) IS NOT NULL,
        'owner_name': nz(p.OwnerDisplayName), 'license': nz(p.ContentLicense), 'post_type': p.PostTypeId,
        'links': coalesce(l.links, [])
    }})::VARCHAR AS extra,
    f.file, p.line, NULL::VARCHAR AS raw
FROM posts_ok p LEFT JOIN tag_wikis t ON t.post_id = p.Id LEFT JOIN links l ON l.PostId = p.Id, posts_file f
UNION ALL
SELECT {pre} || 'comment:' || c.Id, 'stackexchange', {nid} || 'comment:' || c.Id, 'comment',
    CASE WHEN nz(c.UserId) IS NOT NULL THEN {pre} || c.UserId END,
    {pre} || 'post:' || c.PostId, 'stackexchange:' || {site}, NULL, c.Text, []::VARCHAR[], c.created,
    CASE WHEN {base} = '' THEN NULL ELSE {base} || '/posts/comments/' || c.Id END,
    to_json({{'score': try_cast(c.Score AS BIGINT), 'owner_name': nz(c.UserDisplayName),
              'license': nz(c.ContentLicense)}})::VARCHAR,
    f.file, c.line, NULL
FROM comments_ok c, comments_file f
""".replace("{kinds}", _map_sql(POST_KINDS).replace("{", "{{").replace("}", "}}"))

_EVENT_COLUMNS = """'stackexchange' AS source, native_id, time, actor, verb, object, object_type, target,
    []::VARCHAR[] AS recipients, value, NULL::VARCHAR AS ctx_meeting, NULL::VARCHAR AS ctx_account,
    NULL::VARCHAR AS ctx_opportunity, ctx_item, extra, file, line, raw"""

_EVENTS_SQL = """
WITH accept_votes AS (SELECT PostId FROM votes_ok WHERE VoteTypeId = '1'),
ev AS (
    -- Create: posts and comments by their (known) owner
    SELECT {nid} || 'post:' || p.Id || ':create' AS native_id, p.created AS time,
        {pre} || p.OwnerUserId AS actor,
        'Create' AS verb, {pre} || 'post:' || p.Id AS object, 'item' AS object_type,
        CASE WHEN nz(p.ParentId) IS NOT NULL THEN {pre} || 'post:' || p.ParentId END AS target,
        NULL::DOUBLE AS value, NULL::VARCHAR AS ctx_item, NULL::VARCHAR AS extra, f.file, p.line,
        'Posts Id=' || p.Id || ' PostTypeId=' || p.PostTypeId || ' OwnerUserId=' || p.OwnerUserId AS raw
    FROM posts_ok p, posts_file f WHERE nz(p.OwnerUserId) IS NOT NULL
    UNION ALL
    SELECT {nid} || 'comment:' || c.Id || ':create', c.created, {pre} || c.UserId, 'Create',
        {pre} || 'comment:' || c.Id, 'item', {pre} || 'post:' || c.PostId, NULL, NULL, NULL, f.file, c.line,
        'Comments Id=' || c.Id || ' PostId=' || c.PostId || ' UserId=' || c.UserId
    FROM comments_ok c, comments_file f WHERE nz(c.UserId) IS NOT NULL
    UNION ALL
    -- Votes that map to a social event
    SELECT {nid} || 'vote:' || v.Id, v.created,
        CASE v.VoteTypeId WHEN '1' THEN {pre} || aa.asker
                          WHEN '9' THEN {pre} || ba.offerer
                          WHEN '2' THEN NULL WHEN '3' THEN NULL
                          ELSE {pre} || nz(v.UserId) END,
        CASE v.VoteTypeId WHEN '1' THEN 'Accept' WHEN '2' THEN 'Vote' WHEN '3' THEN 'Vote' WHEN '5' THEN 'Add'
                          WHEN '8' THEN 'Invite' WHEN '9' THEN 'Kudos' END,
        CASE WHEN v.VoteTypeId = '9' THEN {pre} || ba.answerer ELSE {pre} || 'post:' || v.PostId END,
        CASE WHEN v.VoteTypeId = '9' THEN 'person' ELSE 'item' END,
        NULL,
        CASE v.VoteTypeId WHEN '2' THEN 1.0 WHEN '3' THEN -1.0
                          WHEN '8' THEN try_cast(v.BountyAmount AS DOUBLE)
                          WHEN '9' THEN ba.amount END,
        CASE WHEN v.VoteTypeId = '9' THEN {pre} || 'post:' || v.PostId END,
        to_json({{'vote_type': {vote_names}[v.VoteTypeId]}})::VARCHAR,
        f.file, v.line,
        'Votes Id=' || v.Id || ' PostId=' || v.PostId || ' VoteTypeId=' || v.VoteTypeId
            || coalesce(' UserId=' || v.UserId, '') || coalesce(' BountyAmount=' || v.BountyAmount, '')
    FROM votes_ok v
    LEFT JOIN answer_asker aa ON aa.answer_id = v.PostId
    LEFT JOIN bounty_awards ba ON ba.vote_id = v.Id, votes_file f
    WHERE v.VoteTypeId IN ({mapped})
      AND (v.VoteTypeId NOT IN ('1', '9') OR (aa.asker IS NOT NULL AND v.VoteTypeId = '1')
           OR (v.VoteTypeId = '9' AND ba.offerer IS NOT NULL AND ba.answerer IS NOT NULL))
    UNION ALL
    -- An accepted answer the votes do not record (a partial dump): accepted when answered at the latest
    SELECT {nid} || 'accepted:' || q.AcceptedAnswerId, a.created, {pre} || q.OwnerUserId, 'Accept',
        {pre} || 'post:' || q.AcceptedAnswerId, 'item', NULL, NULL, NULL,
        to_json({{'from': 'Posts.AcceptedAnswerId'}})::VARCHAR, f.file, q.line,
        'Posts Id=' || q.Id || ' AcceptedAnswerId=' || q.AcceptedAnswerId
    FROM posts_ok q JOIN posts_ok a ON a.Id = q.AcceptedAnswerId, posts_file f
    WHERE nz(q.OwnerUserId) IS NOT NULL AND q.AcceptedAnswerId NOT IN (SELECT PostId FROM accept_votes)
    UNION ALL
    -- Edits: one Update per revision
    SELECT {nid} || 'revision:' || coalesce(nz(RevisionGUID), 'history-' || min(Id)), min(created),
        {pre} || arg_min(nz(UserId), line) FILTER (WHERE nz(UserId) IS NOT NULL),
        'Update', {pre} || 'post:' || PostId, 'item', NULL, NULL, NULL,
        to_json({{'changed': list(DISTINCT {history_names}[PostHistoryTypeId]
                                  ORDER BY {history_names}[PostHistoryTypeId]),
                  'comment': max(nz(Comment))}})::VARCHAR,
        any_value(f.file), min(line),
        'PostHistory Id=' || min(Id) || ' PostId=' || PostId || ' RevisionGUID=' || coalesce(RevisionGUID, '')
            || coalesce(' UserDisplayName=' || max(UserDisplayName), '')
    FROM history_ok, posthistory_file f
    WHERE PostHistoryTypeId IN ({edit_types})
    GROUP BY PostId, CASE WHEN nz(RevisionGUID) IS NULL THEN Id ELSE RevisionGUID END, RevisionGUID
    HAVING count(nz(UserId)) > 0
)
SELECT {columns} FROM ev
""".replace("{columns}", _EVENT_COLUMNS)

_REJECTS_SQL = """
WITH rej AS (
    SELECT f.file, line, bad AS field,
        CASE WHEN copy_no > 1
             THEN 'duplicate ' || t || ' Id ' || Id || ' (first at line ' || first_line || ')'
             WHEN bad = 'Id' THEN 'missing Id'
             WHEN bad = 'CreationDate' AND nz(CreationDate) IS NULL THEN 'missing CreationDate'
             WHEN bad = 'CreationDate' THEN 'unparseable time CreationDate=' || left(CreationDate, 40)
             WHEN bad = 'PostTypeId' AND nz(PostTypeId) IS NOT NULL
             THEN 'unknown PostTypeId ' || left(PostTypeId, 20)
             ELSE 'missing ' || bad END AS reason,
        raw
    FROM (
        SELECT 'post' AS t, line, Id, bad, copy_no, first_line, CreationDate, PostTypeId,
               'Posts Id=' || coalesce(Id, '') || ' PostTypeId=' || coalesce(PostTypeId, '')
                   || ' CreationDate='
                   || coalesce(CreationDate, '') || ' Title=' || coalesce(Title, '') AS raw, 'posts' AS tbl
        FROM posts_c WHERE bad IS NOT NULL OR copy_no > 1
        UNION ALL
        SELECT 'comment', line, Id, bad, copy_no, first_line, CreationDate, NULL,
               'Comments Id=' || coalesce(Id, '') || ' PostId=' || coalesce(PostId, '') || ' CreationDate='
                   || coalesce(CreationDate, '') || ' Text=' || coalesce(Text, ''), 'comments'
        FROM comments_c WHERE bad IS NOT NULL OR copy_no > 1
        UNION ALL
        SELECT 'user', line, Id, bad, copy_no, first_line, CreationDate, NULL,
               'Users Id=' || coalesce(Id, '') || ' DisplayName=' || coalesce(DisplayName, ''), 'users'
        FROM users_c WHERE bad IS NOT NULL OR copy_no > 1
        UNION ALL
        SELECT 'vote', line, Id, bad, copy_no, first_line, CreationDate, NULL,
               'Votes Id=' || coalesce(Id, '') || ' PostId=' || coalesce(PostId, '') || ' VoteTypeId='
                   || coalesce(VoteTypeId, '') || ' CreationDate=' || coalesce(CreationDate, ''), 'votes'
        FROM votes_c WHERE bad IS NOT NULL OR copy_no > 1
        UNION ALL
        SELECT 'post history', line, Id, bad, copy_no, first_line, CreationDate, NULL,
               'PostHistory Id=' || coalesce(Id, '') || ' PostId=' || coalesce(PostId, '')
                   || ' PostHistoryTypeId='
                   || coalesce(PostHistoryTypeId, ''), 'posthistory'
        FROM history_c WHERE bad IS NOT NULL OR copy_no > 1
    ) r JOIN (
        SELECT 'posts' AS tbl, file FROM posts_file UNION ALL SELECT 'comments', file FROM comments_file
        UNION ALL SELECT 'users', file FROM users_file UNION ALL SELECT 'votes', file FROM votes_file
        UNION ALL SELECT 'posthistory', file FROM posthistory_file) f USING (tbl)
    UNION ALL
    -- Post links and badges that have nowhere to go
    SELECT f.file, line, bad,
        CASE WHEN copy_no > 1 THEN 'duplicate post link Id ' || Id || ' (first at line ' || first_line || ')'
             WHEN bad = 'PostId' AND nz(PostId) IS NOT NULL
             THEN 'post link from a post not in the dump (deleted)'
             ELSE 'missing ' || bad END,
        'PostLinks Id=' || coalesce(Id, '') || ' PostId=' || coalesce(PostId, '') || ' RelatedPostId='
            || coalesce(RelatedPostId, '') || ' LinkTypeId=' || coalesce(LinkTypeId, '')
    FROM links_c, postlinks_file f WHERE bad IS NOT NULL OR copy_no > 1
    UNION ALL
    SELECT f.file, line, bad,
        CASE WHEN copy_no > 1 THEN 'duplicate badge Id ' || Id || ' (first at line ' || first_line || ')'
             WHEN bad = 'UserId' AND nz(UserId) IS NOT NULL THEN 'badge of a user not in the dump'
             ELSE 'missing ' || bad END,
        'Badges Id=' || coalesce(Id, '') || ' UserId=' || coalesce(UserId, '')
            || ' Name=' || coalesce(Name, '')
    FROM badges_c, badges_file f WHERE bad IS NOT NULL OR copy_no > 1
    UNION ALL
    -- Votes that are not social signals, or whose people cannot be known
    SELECT f.file, v.line, 'VoteTypeId',
        CASE WHEN v.VoteTypeId NOT IN (SELECT unnest(map_keys({vote_names})))
             THEN 'unknown VoteTypeId ' || left(v.VoteTypeId, 20)
             WHEN v.VoteTypeId NOT IN ({mapped})
             THEN 'not mapped: moderation vote (' || {vote_names}[v.VoteTypeId] || ')'
             WHEN v.VoteTypeId = '1' AND aa.answer_id IS NULL
             THEN 'accepted answer not in the dump (deleted): asker unknown'
             WHEN v.VoteTypeId = '1' THEN 'asker of the accepted answer unknown (deleted account)'
             WHEN ba.vote_id IS NULL
             THEN 'not mapped: bounty closed without an award to an answer in the dump'
             WHEN ba.answerer IS NULL THEN 'bounty winner unknown (deleted account)'
             ELSE 'bounty offerer unknown (no BountyStart for the question in the dump)' END,
        'Votes Id=' || v.Id || ' PostId=' || v.PostId || ' VoteTypeId=' || v.VoteTypeId
            || coalesce(' UserId=' || v.UserId, '') || coalesce(' BountyAmount=' || v.BountyAmount, '')
    FROM votes_ok v LEFT JOIN answer_asker aa ON aa.answer_id = v.PostId
    LEFT JOIN bounty_awards ba ON ba.vote_id = v.Id, votes_file f
    WHERE v.VoteTypeId NOT IN ({mapped})
       OR (v.VoteTypeId = '1' AND aa.asker IS NULL)
       OR (v.VoteTypeId = '9' AND (ba.answerer IS NULL OR ba.offerer IS NULL))
    UNION ALL
    SELECT f.file, q.line, 'AcceptedAnswerId', 'asker of the accepted answer unknown (deleted account)',
        'Posts Id=' || q.Id || ' AcceptedAnswerId=' || q.AcceptedAnswerId
    FROM posts_ok q JOIN posts_ok a ON a.Id = q.AcceptedAnswerId, posts_file f
    WHERE nz(q.OwnerUserId) IS NULL
      AND q.AcceptedAnswerId NOT IN (SELECT PostId FROM votes_ok WHERE VoteTypeId = '1')
    UNION ALL
    SELECT f.file, h.line, 'PostHistoryTypeId',
        'not mapped: post history ' || coalesce({history_names}[h.PostHistoryTypeId],
                                                'type ' || left(h.PostHistoryTypeId, 20)),
        'PostHistory Id=' || h.Id || ' PostId=' || h.PostId || ' PostHistoryTypeId=' || h.PostHistoryTypeId
            || coalesce(' UserId=' || h.UserId, '')
    FROM history_ok h, posthistory_file f WHERE h.PostHistoryTypeId NOT IN ({edit_types} {initial_types})
    UNION ALL
    SELECT any_value(f.file), min(h.line), 'UserId', 'edit by a deleted account (no UserId)',
        'PostHistory Id=' || min(h.Id) || ' PostId=' || h.PostId
            || ' RevisionGUID=' || coalesce(h.RevisionGUID, '')
            || coalesce(' UserDisplayName=' || max(h.UserDisplayName), '')
    FROM history_ok h, posthistory_file f WHERE h.PostHistoryTypeId IN ({edit_types})
    GROUP BY h.PostId, CASE WHEN nz(h.RevisionGUID) IS NULL THEN h.Id ELSE h.RevisionGUID END, h.RevisionGUID
    HAVING count(nz(h.UserId)) = 0
)
SELECT 'stackexchange' AS source, file, line, field, reason, raw FROM rej
"""


__all__ = ["StackExchangeSource", "default_site"]
