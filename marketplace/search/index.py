"""The whoosh index: the only module that imports whoosh. It speaks in plain dataclasses.

Design, from bench/search.py's profile on 100,000 products:
- Matching runs on one catch-all field, `all`, rather than an OR over six fields: a word is
  one posting list to read.
- Ranking is by tiers rather than by whoosh's BM25 scoring, which costs a microsecond or more
  per matching document in pure Python: products whose *name* holds every word (or its
  pinyin) first, then those matched through a keyword (蜂蜜 for 枣花蜜), then the rest (a
  county, township, producer or description mention); within a tier the shorter name, i.e.
  the closer match, first. In a catalogue of short product names this is what BM25 ranked too.
- Facet counts, prices, ids and certificate dates come from each document's stored row, read
  once per segment (segments never change; only deletions do), and counted over the matching
  document numbers. Today's certificate window is applied from those rows, so expiry needs
  no rebuild.

Several worker processes share one index directory. whoosh serialises writers with a lock
file; every writer here waits for that lock (it never skips an update), and every search
checks the index generation so a commit from any worker is visible to the next query.
"""

import heapq
import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.analysis import Token, Tokenizer
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.query import And, Every, Or, Prefix, Term
from whoosh.writing import CLEAR

from marketplace.search.documents import MARKS, ProductDocument, price_bucket
from marketplace.search.lexicon import index_tokens, query_words

WRITE_LOCK_TIMEOUT = 60.0  # seconds a writer waits for another worker's commit
REBUILD_PROCS = max(1, min(4, os.cpu_count() or 1))  # a full rebuild indexes in parallel
FACET_COLUMNS = ("county_id", "category_id", "price_bucket", "marks")


class ChineseTokenizer(Tokenizer):
    """Segments Chinese with rjieba in search mode, keeping positions and character offsets."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.original = token.text = value
            token.boost = 1.0
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        for pos, (word, start, end) in enumerate(index_tokens(value)):
            token.text = word
            token.boost = 1.0
            if keeporiginal:
                token.original = word
            token.stopped = False
            if positions:
                token.pos = start_pos + pos
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token


def _schema() -> Schema:
    chinese = ChineseTokenizer()
    return Schema(
        id=ID(stored=True, unique=True),
        all=TEXT(analyzer=chinese, phrase=False),
        name=TEXT(analyzer=chinese, stored=True, phrase=False),  # suggestions
        name_pinyin=KEYWORD(lowercase=True),  # suggestions by pinyin prefix
        keywords=KEYWORD(lowercase=True),
        # Filters only: counts, prices and dates come from each document's stored row.
        county_id=ID(),
        category_id=ID(),
        price_bucket=ID(),
        marks=KEYWORD(),
        price_fen=STORED(),  # for `flask search check`
        row=STORED(),  # see ROW below: what search needs per document, read once per segment
    )


@dataclass(frozen=True)
class SearchRequest:
    words: tuple[str, ...]  # segmented query words; empty = everything
    today: date
    county_id: int | None = None
    category_id: int | None = None
    marks: tuple[str, ...] = ()
    price: str | None = None
    sort: str = "relevance"  # relevance | price | -price
    page: int = 1
    per_page: int = 20


@dataclass
class SearchHits:
    ids: list[int]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


_lock = threading.Lock()
_open: dict[str, object] = {}
_local = threading.local()  # one searcher per thread: reopening closes the one it replaces
_cache: dict[tuple, object] = {}  # (path, generation, what) -> derived table


def _current_schema(path: str) -> bool:
    return set(whoosh_index.open_dir(path).schema.names()) == set(_schema().names())


def exists(path: str) -> bool:
    """An index is here, and built with this code's schema (else it must be rebuilt)."""
    return Path(path).is_dir() and whoosh_index.exists_in(path) and _current_schema(path)


def _index(path: str):
    ix = _open.get(path)
    if ix is None:
        with _lock:
            ix = _open.get(path)
            if ix is None:
                Path(path).mkdir(parents=True, exist_ok=True)
                if whoosh_index.exists_in(path):
                    ix = whoosh_index.open_dir(path)
                else:
                    ix = whoosh_index.create_in(path, _schema())
                _open[path] = ix
    return ix


def _searcher(path: str):
    """This thread's searcher, reopened when any worker has committed since.

    Not `Searcher.refresh()`: in whoosh-reloaded 2.7.5 it re-adds the old reader's segments
    to the new reader, so deleted documents come back and updated ones appear twice.
    """
    searchers = _local.__dict__.setdefault("searchers", {})
    searcher = searchers.get(path)
    if searcher is not None and not searcher.up_to_date():
        searcher.close()
        searcher = None
    if searcher is None:
        searcher = _index(path).searcher()
        searchers[path] = searcher
    return searcher


def forget(path: str) -> None:
    """Drop this process's handles on an index (tests, and after deleting the directory)."""
    searcher = _local.__dict__.get("searchers", {}).pop(path, None)
    if searcher is not None:
        searcher.close()
    with _lock:
        _open.pop(path, None)
        for key in [k for k in _cache if k[0] == path]:
            _cache.pop(key, None)
        _segment_rows.clear()  # segment ids are random, so other indexes' entries are
        _segment_valid.clear()  # simply rebuilt on their next search


def _fields(doc: ProductDocument) -> dict:
    bucket = price_bucket(doc.price_fen)
    keywords = " ".join(doc.keywords)
    return {
        "id": str(doc.id),
        "all": " ".join([doc.name, doc.name, doc.name, keywords, keywords, doc.producer,
                         doc.place, doc.body, " ".join(doc.pinyin)]),
        "name": doc.name,
        "name_pinyin": " ".join(doc.name_pinyin),
        "keywords": keywords,
        "county_id": str(doc.county_id),
        "category_id": str(doc.category_id),
        "price_bucket": bucket,
        "marks": " ".join(doc.marks),
        "price_fen": doc.price_fen,
        "row": (str(doc.county_id), str(doc.category_id), bucket, tuple(doc.marks),
                doc.price_fen, len(doc.name), doc.id, doc.valid_from.toordinal(),
                doc.valid_until.toordinal()),
    }


def apply_changes(path: str, load, timeout: float = WRITE_LOCK_TIMEOUT) -> None:
    """Take the write lock, then `load()` -> (documents, removed ids) and write them at once.

    The documents are read from the database while the lock is held, so of two workers
    writing the same product the one that writes last also read last: an older read can
    never overwrite a newer one. Waits up to `timeout` seconds for another writer's lock;
    raises if it cannot get it.
    """
    writer = _index(path).writer(timeout=timeout, delay=0.05)
    try:
        documents, removed_ids = load()
        for product_id in removed_ids:
            writer.delete_by_term("id", str(product_id))
        for doc in documents:
            writer.update_document(**_fields(doc))
    except BaseException:
        writer.cancel()
        raise
    writer.commit()


def rebuild(path: str, documents, timeout: float = WRITE_LOCK_TIMEOUT) -> int:
    """Replace the whole index with `documents` in one commit; readers never see it half built.

    An index from an older schema is recreated first.
    """
    if whoosh_index.exists_in(path) and not _current_schema(path):
        forget(path)
        with _lock:
            _open[path] = whoosh_index.create_in(path, _schema())
    writer = _index(path).writer(timeout=timeout, delay=0.05, limitmb=256,
                                 procs=REBUILD_PROCS, multisegment=REBUILD_PROCS > 1)
    count = 0
    try:
        for doc in documents:
            writer.add_document(**_fields(doc))
            count += 1
    except BaseException:
        writer.cancel()
        raise
    writer.commit(mergetype=CLEAR, optimize=True)
    return count


def _cached(path: str, searcher, what, build):
    """A table derived from this index generation, built once per process."""
    key = (path, searcher.reader().generation(), what)
    value = _cache.get(key)
    if value is None:
        value = build()
        with _lock:
            for old in [k for k in _cache if k[0] == path and k[1] != key[1]]:
                _cache.pop(old, None)
            _cache[key] = value
    return value


# The stored row of each document, in this order.
COUNTY, CATEGORY, BUCKET, MARKS_AT, PRICE, NAME_LENGTH, PRODUCT_ID, VALID_FROM, VALID_UNTIL = (
    range(9))

_segment_rows: dict[str, list] = {}  # segment id -> rows; a segment's stored fields never change
_segment_valid: dict[tuple, set] = {}  # (segment id, day) -> local docnums valid that day


def _rows_of(segment_reader) -> list:
    segid = segment_reader.segment().segment_id()
    rows = _segment_rows.get(segid)
    if rows is None:
        stored = segment_reader.stored_fields
        rows = [stored(d).get("row") for d in range(segment_reader.doc_count_all())]
        with _lock:
            _segment_rows[segid] = rows
    return rows


def _leaves(searcher):
    """(segment reader, first docnum, deleted local docnums) for each segment."""
    for leaf, base in searcher.reader().leaf_readers():
        deleted = set(leaf.segment().deleted_docs() or ()) if leaf.has_deletions() else set()
        yield leaf, base, deleted


def _doc_table(path: str, searcher) -> list:
    """Per document number: its row (see ROW), or None when deleted.

    Built from per-segment rows, so after a commit only the new small segment is read.
    """
    def build():
        table: list = []
        for leaf, _base, deleted in _leaves(searcher):
            rows = list(_rows_of(leaf))
            for d in deleted:
                rows[d] = None
            table.extend(rows)
        live = {k for k in _segment_rows if k in _live_segment_ids(searcher)}
        _forget_segments_except(live)
        return table

    return _cached(path, searcher, "table", build)


def _live_segment_ids(searcher) -> set[str]:
    return {leaf.segment().segment_id() for leaf, _base in searcher.reader().leaf_readers()}


def _forget_segments_except(live: set[str]) -> None:
    with _lock:
        for segid in [k for k in _segment_rows if k not in live]:
            _segment_rows.pop(segid, None)
        for key in [k for k in _segment_valid if k[0] not in live]:
            _segment_valid.pop(key, None)


def _valid_docnums(path: str, searcher, today: date) -> set[int]:
    """Documents whose certificate window covers today.

    A plain set: whoosh takes it as a filter, and C-speed intersections beat whoosh's BitSet
    (which also mishandles iterators). Per-segment sets are cached by day, so a commit costs
    only the new segment and the deletions.
    """
    ordinal = today.toordinal()

    def build():
        valid: set[int] = set()
        for leaf, base, deleted in _leaves(searcher):
            key = (leaf.segment().segment_id(), ordinal)
            local = _segment_valid.get(key)
            if local is None:
                local = {d for d, row in enumerate(_rows_of(leaf))
                         if row and row[VALID_FROM] <= ordinal <= row[VALID_UNTIL]}
                with _lock:
                    _segment_valid[key] = local
            valid.update(d + base for d in (local - deleted if deleted else local))
        return valid

    return _cached(path, searcher, ("valid", today), build)


def _by_price(path: str, searcher, table: list) -> list[int]:
    """All live document numbers, cheapest first (for price sorts of large result sets)."""
    def build():
        return sorted((d for d, row in enumerate(table) if row),
                      key=lambda d: (table[d][PRICE], table[d][PRODUCT_ID]))

    return _cached(path, searcher, "by_price", build)


def _word_query(word: str, fields=("all",)):
    """A word in `fields`; a lone Chinese character also as the start of a word (蜂 -> 蜂胶)."""
    alternatives = [Term(f, word) for f in fields]
    if len(word) == 1 and "\u4e00" <= word <= "\u9fff":
        alternatives += [Prefix("name", word), Prefix("keywords", word)]
    return alternatives[0] if len(alternatives) == 1 else Or(alternatives)


def _query(request: SearchRequest):
    parts = [_word_query(w) for w in request.words]
    if request.county_id:
        parts.append(Term("county_id", str(request.county_id)))
    if request.category_id:
        parts.append(Term("category_id", str(request.category_id)))
    parts += [Term("marks", mark) for mark in request.marks if mark in MARKS]
    if request.price:
        parts.append(Term("price_bucket", request.price))
    if not parts:
        return Every()
    return parts[0] if len(parts) == 1 else And(parts)


def _docs(searcher, query) -> set[int]:
    return set(searcher.docs_for_query(query))


def _count_facets(table: list, docnums) -> dict[str, dict[str, int]]:
    combos = Counter(table[d][:4] for d in docnums)
    counts = {name: Counter() for name in FACET_COLUMNS}
    for (county, category, bucket, marks), n in combos.items():
        counts["county_id"][county] += n
        counts["category_id"][category] += n
        counts["price_bucket"][bucket] += n
        for mark in marks:
            counts["marks"][mark] += n
    return {name: dict(c) for name, c in counts.items()}


def _ranked_page(path, searcher, request: SearchRequest, matched: set[int], table) -> list[int]:
    start, stop = (request.page - 1) * request.per_page, request.page * request.per_page
    if request.sort in ("price", "-price") or not request.words:
        descending = request.sort == "-price"
        if len(matched) > 5000:
            ordered = _by_price(path, searcher, table)
            walk = reversed(ordered) if descending else iter(ordered)
            docs = list(islice((d for d in walk if d in matched), stop))
        else:
            docs = sorted(matched, key=lambda d: (table[d][PRICE], table[d][PRODUCT_ID]),
                          reverse=descending)[:stop]
        return [table[d][PRODUCT_ID] for d in docs[start:]]
    in_name = matched.intersection(_docs(searcher, And(
        [_word_query(w, ("name", "name_pinyin")) for w in request.words])))
    by_keyword = matched.intersection(_docs(searcher, And(
        [_word_query(w, ("name", "name_pinyin", "keywords")) for w in request.words])))

    def rank(d):
        tier = 0 if d in in_name else 1 if d in by_keyword else 2
        # Ties broken by product id, never by the index's internal document order, so a
        # rebuild (or two writers) cannot reorder equal results.
        return tier, table[d][NAME_LENGTH], table[d][PRODUCT_ID]

    docs = heapq.nsmallest(stop, matched, key=rank)
    return [table[d][PRODUCT_ID] for d in docs[start:]]


def search(path: str, request: SearchRequest) -> SearchHits:
    searcher = _searcher(path)
    valid = _valid_docnums(path, searcher, request.today)
    query = _query(request)
    matched = valid if isinstance(query, Every) else valid.intersection(_docs(searcher, query))
    if not matched:
        return SearchHits(ids=[], total=0, facets={name: {} for name in FACET_COLUMNS})
    table = _doc_table(path, searcher)
    return SearchHits(
        ids=_ranked_page(path, searcher, request, matched, table),
        total=len(matched),
        facets=_count_facets(table, matched),
    )


def suggest(path: str, prefix: str, today: date, limit: int = 8) -> list[str]:
    """Product names for a prefix of Chinese or pinyin, for suggestions as one types."""
    prefix = (prefix or "").strip().lower()[:40]
    if not prefix:
        return []
    searcher = _searcher(path)
    valid = _valid_docnums(path, searcher, today)
    if not valid:
        return []
    query = Or([Prefix("name", prefix), Prefix("name_pinyin", prefix),
                Prefix("keywords", prefix)])
    names: list[str] = []
    for hit in searcher.search(query, limit=limit * 5, filter=valid):
        if hit["name"] not in names:
            names.append(hit["name"])
        if len(names) == limit:
            break
    return names


def correction(path: str, text: str) -> str | None:
    """A close, common term of the index for "did you mean" (edit distance 1, or 2 if long)."""
    text = (text or "").strip().lower()[:40]
    if not text:
        return None
    searcher = _searcher(path)
    reader = searcher.reader()
    found = [t for t in searcher.suggest("all", text, limit=5,
                                         maxdist=2 if len(text) > 3 else 1) if t != text]
    if found:
        return max(found, key=lambda t: reader.doc_frequency("all", t))
    words = query_words(text)
    if len(words) > 1:
        fixed = [correction(path, w) or w for w in words]
        if fixed != words:
            return " ".join(fixed)
    return None


def doc_count(path: str) -> int:
    return _searcher(path).doc_count()


def hold_write_lock(path: str):
    """A writer that holds the index lock until cancelled: for tests of lock contention."""
    return _index(path).writer()


def stored_documents(path: str) -> dict[int, dict]:
    """{product id: stored fields} for every document: for consistency checks."""
    return {int(f["id"]): f for f in _searcher(path).all_stored_fields()}
