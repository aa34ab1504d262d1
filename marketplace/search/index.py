"""The whoosh index: the only module that imports whoosh. It speaks in plain dataclasses.

Finding. A query is cut into chunks at spaces and digits ("鲜香菇 10斤装" -> 鲜香菇, 10斤装), and a
chunk into pieces: place names known to the index, matched whole (陶城镇, 鄢陵县, 鄢陵), and the
text between them. A piece is found in a product's name as one run of characters (through
the name's two-character runs, so 红薯粉 finds 红薯粉条 and never becomes 红薯 + a prefix 粉),
as its words anywhere (name, producer, places, specification, description, pinyin), as a
kind its name's head word is (蜂蜜 -> 枣花蜜), as its place, or as its category: a piece
equal to a category's name reaches every member; a word of a combined name (花生大豆,
腐竹豆制品) reaches every member only when no member is named by it (豆制品, 三粉) — a word
that names products (花生) reaches just those, so it never leaks into the sesame oil filed
under 花生大豆. Every piece must be found; pack sizes ("10斤装", "25kg") only rank.

Ranking, best first (`_Ranker`):
1. the product *is* what was asked: the query's last product word is the head of its name
   (鲜香菇 for 香菇, not 香菇酱), a kind the head is, or — when the name does not say it is
   something else made of it — its category; the other pieces are in its name or are its
   place, producer, marks or category; a place piece counts here only as the product's place
   (where its producer is, or the township its origin names), not as a word in its name;
2. more of the pack-size pieces in the name;
3. the whole query as one run in the name;
4. every piece in the name; then 5. every piece in the name or the identity fields;
6. a field-weighted term score (BM25F: name 3, kind and category 2, place 1.5, producer and
   marks 1, elsewhere 0.5; k1 1.2; the name's length normalises only gently, b 0.1, measured
   without its pack size), compared in steps of 0.25 so a brand or a pack size never decides;
7. ties: a daily rotation (`rotation_key`), the same for every reader on one day, on every
   host and after every rebuild, and different the next day. Name length, insertion order
   and product id never decide.

Sorts by price and by sales ("sales": the fen buyers accepted of a product, from the
per-product counters of orders/sales.py, carried in the document) are separate choices; their
ties stand in the same daily rotation.

Facet counts, prices, names and certificate dates come from each document's stored row,
read once per segment (segments never change; only deletions do), and counted over the
matching document numbers. Tables that depend on the day (certificate window, rotation,
sort orders) are cached per segment and day, so a commit costs only the new small segment.

Several worker processes share one index directory. whoosh serialises writers with a lock
file; every writer here waits for that lock (it never skips an update), and every search
checks the index generation so a commit from any worker is visible to the next query.
"""

import hashlib
import heapq
import math
import os
import re
import sys
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh.analysis import Token, Tokenizer
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.formats import Existence
from whoosh.query import And, Or, Prefix, Term
from whoosh.writing import CLEAR

from marketplace.search.documents import (
    MARK_WORDS,
    MARKS,
    ProductDocument,
    price_bucket,
)
from marketplace.search.lexicon import (
    HYPERNYMS,
    SALES_WORDS,
    county_short,
    index_tokens,
    is_cjk,
    kinds_of_core,
    name_core,
    name_grams,
    normalise,
    pinyin_of,
    query_words,
    township_short,
)

WRITE_LOCK_TIMEOUT = 60.0  # seconds a writer waits for another worker's commit
REBUILD_PROCS = max(1, min(4, os.cpu_count() or 1))  # a full rebuild indexes in parallel
FACET_COLUMNS = ("county_id", "category_id", "price_bucket", "marks")
SORTS = ("relevance", "price", "-price", "sales")
SMALL = 3000  # below this many matches a sort is direct; above, pre-sorted orders are walked


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


def _words(analyzer) -> TEXT:
    """Segmented words that are only matched, never scored by whoosh (the ranking is ours):
    no frequencies and no length column, which is most of the cost of writing them."""
    words = TEXT(analyzer=analyzer, phrase=False)
    words.format = Existence()
    words.scorable = False
    return words


def _schema() -> Schema:
    chinese = ChineseTokenizer()
    return Schema(
        id=ID(stored=True, unique=True),
        all=_words(chinese),  # every word of every field but the producer, and pinyin
        name=TEXT(analyzer=chinese, stored=True, phrase=False),  # suggestions
        name_grams=KEYWORD(),  # two-character runs of the name: substring candidates
        name_pinyin=KEYWORD(lowercase=True),  # suggestions by pinyin prefix
        keywords=KEYWORD(lowercase=True),  # kinds by the name's head (蜂蜜 for 枣花蜜)
        category=KEYWORD(),  # the category's whole name, never split
        place=KEYWORD(),  # full and short forms of county and townships
        producer=_words(chinese),
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
    text: str  # the query as typed; empty = everything
    today: date
    county_id: int | None = None
    category_id: int | None = None
    marks: tuple[str, ...] = ()
    price: str | None = None
    sort: str = "relevance"  # relevance | price | -price | sales
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
        _segment_daily.clear()  # simply rebuilt on their next search


def _fields(doc: ProductDocument) -> dict:
    bucket = price_bucket(doc.price_fen)
    keywords = " ".join(doc.keywords)
    flat = re.sub(r"\s+", "", normalise(doc.name))
    category = re.sub(r"\s+", "", doc.category)
    return {
        "id": str(doc.id),
        # The producer has its own field (found there as an identity field), not a copy here.
        "all": " ".join([doc.name, keywords, doc.place, doc.body, " ".join(doc.pinyin)]),
        "name": doc.name,
        "name_grams": " ".join(doc.grams),
        "name_pinyin": " ".join(doc.name_pinyin),
        "keywords": " ".join([*doc.keywords, *(pinyin_of(k)[0] for k in doc.keywords)]),
        "category": " ".join(dict.fromkeys([category, pinyin_of(category)[0]])),
        # Full and short forms; pinyin of the short forms only (yanling, not yanlingxian).
        "place": " ".join(dict.fromkeys([*doc.places, *(
            pinyin_of(p)[0] for p in doc.places if county_short(p) == township_short(p) == p)])),
        "producer": doc.producer,
        "county_id": str(doc.county_id),
        "category_id": str(doc.category_id),
        "price_bucket": bucket,
        "marks": " ".join(doc.marks),
        "price_fen": doc.price_fen,
        "row": (str(doc.county_id), str(doc.category_id), bucket, tuple(doc.marks),
                doc.price_fen, doc.id, doc.valid_from.toordinal(), doc.valid_until.toordinal(),
                flat, name_core(doc.name), doc.sales),
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
(COUNTY, CATEGORY, BUCKET, MARKS_AT, PRICE, PRODUCT_ID, VALID_FROM, VALID_UNTIL, NAME,
 CORE, SALES) = range(11)

_segment_rows: dict[str, list] = {}  # segment id -> rows; a segment's stored fields never change
_segment_daily: dict[tuple, object] = {}  # (segment id, what, day) -> per-segment table


def _rows_of(segment_reader) -> list:
    segid = segment_reader.segment().segment_id()
    rows = _segment_rows.get(segid)
    if rows is None:
        stored = segment_reader.stored_fields
        rows = []
        for d in range(segment_reader.doc_count_all()):
            row = stored(d).get("row")
            if row is not None:  # the names repeat across thousands of listings
                row = (*row[:NAME], sys.intern(row[NAME]), sys.intern(row[CORE]), row[SALES])
            rows.append(row)
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
        live = _live_segment_ids(searcher)
        _forget_segments_except(live)
        return table

    return _cached(path, searcher, "table", build)


def _live_segment_ids(searcher) -> set[str]:
    return {leaf.segment().segment_id() for leaf, _base in searcher.reader().leaf_readers()}


def _forget_segments_except(live: set[str]) -> None:
    with _lock:
        for segid in [k for k in _segment_rows if k not in live]:
            _segment_rows.pop(segid, None)
        for key in [k for k in _segment_daily if k[0] not in live]:
            _segment_daily.pop(key, None)


def _daily(leaf, what: str, today: date, build):
    """A per-segment table for one day, built once: `build(rows)`."""
    key = (leaf.segment().segment_id(), what, today.toordinal())
    value = _segment_daily.get(key)
    if value is None:
        value = build(_rows_of(leaf))
        with _lock:
            for old in [k for k in _segment_daily if k[0] == key[0] and k[1] == what
                        and k[2] != key[2]]:
                _segment_daily.pop(old, None)
            _segment_daily[key] = value
    return value


def _valid_docnums(path: str, searcher, today: date) -> set[int]:
    """Documents whose certificate window covers today.

    A plain set: C-speed intersections beat whoosh's BitSet. Per-segment sets are cached by
    day, so a commit costs only the new segment and the deletions.
    """
    ordinal = today.toordinal()

    def build():
        valid: set[int] = set()
        for leaf, base, deleted in _leaves(searcher):
            local = _daily(leaf, "valid", today, lambda rows: {
                d for d, row in enumerate(rows)
                if row and row[VALID_FROM] <= ordinal <= row[VALID_UNTIL]})
            valid.update(d + base for d in (local - deleted if deleted else local))
        return valid

    return _cached(path, searcher, ("valid", today), build)


# Ties: a daily rotation.

def _day_seed(today: date) -> int:
    return int.from_bytes(hashlib.sha256(f"xunong-rotation:{today.isoformat()}".encode())
                          .digest()[:8], "big")


def rotation_key(product_id: int, today: date) -> int:
    """Where a product stands among equals today: a hash of the date and the product id
    (splitmix64). Every product of a tie is equally likely to be first on any day and the
    order changes each day; it never depends on name length, listing age or index order."""
    return _mix(product_id, _day_seed(today))


_MASK = (1 << 64) - 1


def _mix(product_id: int, seed: int) -> int:
    x = (product_id * 0x9E3779B97F4A7C15 + seed) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _rotation(path: str, searcher, today: date) -> list:
    """Per document number: its rotation key today (None when deleted)."""
    seed = _day_seed(today)

    def build():
        keys: list = []
        for leaf, _base, _deleted in _leaves(searcher):
            keys.extend(_daily(leaf, "rotation", today, lambda rows: [
                _mix(row[PRODUCT_ID], seed) if row else None for row in rows]))
        return keys

    return _cached(path, searcher, ("rotation", today), build)


def _segment_orders(path: str, searcher, today: date, what: str):
    """Every segment's live documents pre-sorted for a sort ("price", "-price", "sales",
    "rotation"), as lists of (sort key, global docnum): merged lazily, only as far as a
    page needs. Equal prices and sales stand in today's rotation, as equal relevance does."""
    seed = _day_seed(today)

    def key_of(row):
        rot = _mix(row[PRODUCT_ID], seed)
        if what == "price":
            return (row[PRICE], rot)
        if what == "-price":
            return (-row[PRICE], rot)
        if what == "sales":
            return (-row[SALES], rot)
        return rot

    def build():
        orders = []
        for leaf, base, deleted in _leaves(searcher):
            local = _daily(leaf, f"order-{what}", today, lambda rows: sorted(
                (key_of(row), d) for d, row in enumerate(rows) if row))
            orders.append([(k, d + base) for k, d in local if d not in deleted]
                          if deleted else [(k, d + base) for k, d in local])
        return orders

    return _cached(path, searcher, ("order", what, today), build)


def _walk(path, searcher, request: SearchRequest, matched: set[int], what: str,
          stop: int) -> list[int]:
    """The first `stop` matching documents in a pre-sorted order (large result sets)."""
    out = []
    for _key, d in heapq.merge(*_segment_orders(path, searcher, request.today, what)):
        if d in matched:
            out.append(d)
            if len(out) == stop:
                break
    return out


# Finding.

_CHUNKS = re.compile(r"[0-9０-９][^\s]*|[^\s0-9０-９]+")


@dataclass
class _Piece:
    text: str
    kind: str  # "place" | "text" | "latin" | "spec"
    docs: set = field(default_factory=set)  # documents where the piece is found
    identity: dict = field(default_factory=dict)  # field -> documents it is found in there
    idf: float = 0.0
    forms: tuple = ()  # a place's forms, shortest last; other pieces: (text,)

    @property
    def soft(self) -> bool:
        return self.kind == "spec"


@dataclass
class _Vocabulary:
    """What the index knows of places and categories, per index generation."""

    places: frozenset
    categories: frozenset
    parts: dict  # a word of one category's name -> that category's name
    product_words: dict = field(default_factory=dict)  # (word, category) -> names products?


def _vocabulary(path: str, searcher) -> _Vocabulary:
    def build():
        reader = searcher.reader()
        categories = frozenset(reader.field_terms("category"))
        seen = Counter(word for name in categories for word in {
            w for w, _s, _e in index_tokens(name) if len(w) >= 2 and w != name})
        parts = {word: name for name in categories for word, _s, _e in index_tokens(name)
                 if len(word) >= 2 and word != name and seen[word] == 1}
        return _Vocabulary(places=frozenset(reader.field_terms("place")),
                           categories=categories, parts=parts)

    return _cached(path, searcher, "vocabulary", build)


def _docs(searcher, query) -> set[int]:
    return set(searcher.docs_for_query(query))


class _Finder:
    """Turns query text into pieces and finds the documents of each."""

    def __init__(self, path: str, searcher, table: list):
        self.path, self.searcher, self.table = path, searcher, table
        self.vocabulary = _vocabulary(path, searcher)

    def chunks(self, text: str) -> list[list[_Piece]]:
        out = []
        for chunk in _CHUNKS.findall(normalise(text)):
            chunk = "".join(c for c in chunk if c.isalnum() or c == ".")
            if not chunk:
                continue
            if chunk[0].isdigit() or chunk in SALES_WORDS:
                out.append([_Piece(chunk, "spec", forms=(chunk,))])
            elif not is_cjk(chunk):
                out.append([_Piece(chunk, "latin", forms=(chunk,))])
            else:
                out.append(self._peel(chunk))
        return out

    def _peel(self, chunk: str) -> list[_Piece]:
        """Place names known to the index, longest first, and the text between them."""
        pieces, text, i = [], "", 0
        while i < len(chunk):
            for j in range(len(chunk), i + 1, -1):
                if chunk[i:j] in self.vocabulary.places:
                    if text:
                        pieces.append(_Piece(text, "text", forms=(text,)))
                        text = ""
                    place = chunk[i:j]
                    forms = tuple(dict.fromkeys((place, county_short(place),
                                                 township_short(place))))
                    pieces.append(_Piece(place, "place", forms=forms))
                    i = j
                    break
            else:
                text += chunk[i]
                i += 1
        if text:
            pieces.append(_Piece(text, "text", forms=(text,)))
        return pieces

    def in_name(self, text: str) -> set[int]:
        """Documents whose name holds `text` as one run of characters."""
        grams = name_grams(text)
        if not grams:
            return set()
        candidates = _docs(self.searcher, And([Term("name_grams", g) for g in grams])
                           if len(grams) > 1 else Term("name_grams", grams[0]))
        table = self.table
        return {d for d in candidates if table[d] and text in table[d][NAME]}

    def category_names(self, text: str) -> list[str]:
        """The categories a piece stands for: its whole name, or a class word of it."""
        if text in self.vocabulary.categories:
            return [text]
        category = self.vocabulary.parts.get(text)
        if category is None:
            return []
        key = (text, category)
        names_products = self.vocabulary.product_words.get(key)
        if names_products is None:
            members = _docs(self.searcher, Term("category", category))
            names_products = bool(members & (self.in_name(text) | _docs(
                self.searcher, Term("keywords", text))))
            self.vocabulary.product_words[key] = names_products
        return [] if names_products else [category]

    def find(self, piece: _Piece) -> None:
        """Fill in where the piece is found: `docs`, and per identity field."""
        s = self.searcher
        t = piece.text
        identity = piece.identity
        if not is_cjk(t):
            docs = _docs(s, Term("all", t))
            if piece.kind == "latin":
                if len(t) >= 6 and not docs:  # a prefix expands to many terms: costly
                    docs |= _docs(s, Prefix("name_pinyin", t))
                for name in ("place", "category", "keywords"):
                    found = _docs(s, Term(name, t))
                    if found:
                        identity[name] = found
                if "place" in identity:
                    piece.kind = "place"  # the pinyin of a place (yanling)
        elif len(t) == 1:  # a lone character: the start of a word (蜂 -> 蜂胶, 蜂蜜)
            docs = _docs(s, Or([Term("all", t), Prefix("name", t), Prefix("keywords", t)]))
        else:
            docs = set().union(*(self.in_name(form) for form in piece.forms))
            words = query_words(t)
            if words and all(len(w) > 1 for w in words):
                docs |= _docs(s, And([Term("all", w) for w in words]) if len(words) > 1
                              else Term("all", words[0]))
            keyword = _docs(s, Term("keywords", t))
            if keyword:
                identity["keywords"] = keyword
            categories = self.category_names(t)
            if categories:
                identity["category"] = _docs(s, Or([Term("category", c) for c in categories]))
            if piece.kind == "place":
                identity["place"] = _docs(s, Term("place", t))
            else:
                producer = _docs(s, And([Term("producer", w) for w in words])) if words else set()
                if producer:
                    identity["producer"] = producer
                marks = [m for m, label in MARK_WORDS.items() if t in label]
                if marks:
                    identity["marks"] = _docs(s, Or([Term("marks", m) for m in marks]))
        if not docs and is_cjk(t) and len(t) > 2:
            self._as_kind(piece)
            if not identity:
                docs = self._by_words(t)
        for found in identity.values():
            docs |= found
        piece.docs = docs

    def _by_words(self, text: str) -> set[int]:
        """A piece no product holds whole, found by its words instead: each word of two or
        more characters as a run in the name or a word anywhere, each single character
        somewhere in the name (黑猪肉 finds 黑猪鲜肉 and 黑猪五花肉). Only a fallback: a piece
        found whole (红薯粉) is never cut into a word and a character."""
        words = query_words(text)
        long_words = [w for w in words if len(w) > 1]
        if len(words) < 2 or not long_words:
            return set()
        docs: set[int] | None = None
        for word in long_words:
            found = self.in_name(word) | _docs(self.searcher, Term("all", word))
            docs = found if docs is None else docs & found
        assert docs is not None  # long_words is not empty
        table = self.table
        chars = [w for w in words if len(w) == 1]
        return {d for d in docs if all(c in table[d][NAME] for c in chars)} if chars else docs

    def _as_kind(self, piece: _Piece) -> None:
        """A piece no name holds whole, read as a modifier and a kind its head names:
        槐花蜜 is a 蜂蜜 with 槐花 in its name (槐花蜂蜜)."""
        t = piece.text
        for kind in kinds_of_core(t):
            head = next(h for h in HYPERNYMS[kind] if t.endswith(h))
            modifier = t[:-len(head)]
            if len(modifier) >= 2:
                found = self.in_name(modifier) & _docs(self.searcher, Term("keywords", kind))
                if found:
                    piece.identity["keywords"] = piece.identity.get("keywords", set()) | found


def _match(finder: _Finder, chunks: list[list[_Piece]], n_docs: int) -> set[int]:
    """Documents that hold every required chunk: all its pieces, or the chunk whole (so
    火龙果 is not only 火龙镇 + 果). Pack sizes are required only when nothing else was typed."""
    for chunk in chunks:
        for piece in chunk:
            finder.find(piece)
            df = len(piece.docs)
            piece.idf = math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
    required = [c for c in chunks if not c[0].soft] or chunks
    matched: set[int] | None = None
    for chunk in required:
        found = set.intersection(*(p.docs for p in chunk))
        if len(chunk) > 1:
            whole = "".join(p.text for p in chunk)
            whole_piece = _Piece(whole, "text", forms=(whole,))
            finder.find(whole_piece)
            found |= whole_piece.docs
        matched = found if matched is None else matched & found
        if not matched:
            return set()
    return matched or set()


# Ranking.

FIELD_WEIGHTS = {"name": 3.0, "keywords": 2.0, "category": 2.0, "place": 1.5,
                 "producer": 1.0, "marks": 1.0, "body": 0.5}
K1, NAME_B, AVERAGE_CORE = 1.2, 0.1, 5.0
SCORE_STEP = 0.25


class _NameFacts:
    """What a name says about the query, computed once per distinct name."""

    __slots__ = ("mask", "head", "run", "tf", "norm")

    def __init__(self, mask, head, run, tf, norm):
        self.mask, self.head, self.run, self.tf, self.norm = mask, head, run, tf, norm


class _Ranker:
    def __init__(self, chunks: list[list[_Piece]]):
        self.pieces = [p for chunk in chunks for p in chunk]
        n = len(self.pieces)
        self.required = sum(1 << i for i, p in enumerate(self.pieces) if not p.soft) or (
            (1 << n) - 1)
        self.soft = sum(1 << i for i, p in enumerate(self.pieces) if p.soft)
        products = [i for i, p in enumerate(self.pieces) if p.kind in ("text", "latin")]
        self.last = products[-1] if products else None
        self.latin_query = not any(is_cjk(p.text) for p in self.pieces)
        self.place_pieces = [i for i, p in enumerate(self.pieces) if p.kind == "place"]
        self.query = "".join(p.text for p in self.pieces)
        self.query_short = "".join(p.forms[-1] for p in self.pieces)
        # (piece index, field, documents) for every identity field a piece is found in
        self.identity = [(i, f, docs) for i, p in enumerate(self.pieces)
                         for f, docs in p.identity.items()]
        self._names: dict[tuple, _NameFacts] = {}
        self._keys: dict[tuple, tuple] = {}

    def name_facts(self, name: str, core: str) -> _NameFacts:
        """`name`: the name without spaces, normalised; `core`: without its pack size."""
        facts = self._names.get((name, core))
        if facts is not None:
            return facts
        kinds = kinds_of_core(core)
        mask, tf = 0, []
        pinyin: str | None = None
        initials = ""
        for i, piece in enumerate(self.pieces):
            if not is_cjk(piece.text):
                if pinyin is None:
                    pinyin, initials = pinyin_of(name)
                count = pinyin.count(piece.text) or (
                    len(piece.text) > 1 and initials.count(piece.text))
            else:
                count = max(name.count(form) for form in piece.forms)
            tf.append(count)
            if count or piece.text in kinds:
                mask |= 1 << i
        head = False
        if self.last is not None:
            last = self.pieces[self.last].text
            if not is_cjk(last):
                full, first = pinyin_of(core)
                head = full.endswith(last) or (len(last) > 1 and first.endswith(last))
            else:
                head = core.endswith(last) or last in kinds
        if self.latin_query:
            if pinyin is None:
                pinyin, initials = pinyin_of(name)
            run = self.query in pinyin or (len(self.query) > 1 and self.query in initials)
        else:
            run = self.query in name or self.query_short in name
        norm = 1 - NAME_B + NAME_B * len(core) / AVERAGE_CORE
        facts = _NameFacts(mask, head, run, tuple(tf), norm)
        self._names[(name, core)] = facts
        return facts

    def key(self, facts: _NameFacts, bits: int) -> tuple:
        """The rank of a document (smaller first), from its name's facts and the identity
        fields its pieces were found in (`bits`: which entries of `self.identity`)."""
        cache_key = (facts, bits)
        key = self._keys.get(cache_key)
        if key is not None:
            return key
        found = facts.mask
        where: dict[int, set] = {}
        for j, (i, f, _docs) in enumerate(self.identity):
            if bits >> j & 1:
                where.setdefault(i, set()).add(f)
                found |= 1 << i
        required = self.required
        # A place piece counts for "is what was asked" only where the product comes from
        # there, not where its name mentions it (a 襄城 listing named 河街腐竹 for 河街).
        for i in self.place_pieces:
            if "place" not in where.get(i, ()):
                found &= ~(1 << i)
        is_a = False
        if self.last is None:
            is_a = found & required == required
        else:
            others = required & ~(1 << self.last)
            if found & others == others:
                last_where = where.get(self.last, set())
                is_a = facts.head or "keywords" in last_where or (
                    "category" in last_where and not facts.mask >> self.last & 1)
        score = 0.0
        for i, piece in enumerate(self.pieces):
            tf = FIELD_WEIGHTS["name"] * facts.tf[i] / facts.norm
            tf += sum(FIELD_WEIGHTS[f] for f in where.get(i, ()))
            if not tf and not piece.soft:
                tf = FIELD_WEIGHTS["body"]
            score += piece.idf * tf / (K1 + tf)
        key = (not is_a, -bin(facts.mask & self.soft).count("1"), not facts.run,
               facts.mask & required != required, found & required != required,
               -int(score / SCORE_STEP))
        self._keys[cache_key] = key
        return key


def _ranked(path, searcher, request: SearchRequest, ranker: _Ranker, matched: set[int],
            table: list, stop: int) -> list[int]:
    """The first `stop` matches by rank; equal ranks in today's rotation."""
    # Partition the matches by which identity fields hold them, with set operations (C
    # speed), then key each document by its name's facts, computed once per distinct name.
    parts = {0: matched}
    for j, (_i, _f, docs) in enumerate(ranker.identity):
        bit, split = 1 << j, {}
        for bits, part in parts.items():
            inside = part & docs
            if inside:
                split[bits | bit] = inside
                if len(inside) < len(part):
                    split[bits] = part - inside
            else:
                split[bits] = part
        parts = split
    groups: dict[tuple, list] = {}
    name_facts, key_of = ranker.name_facts, ranker.key
    for bits, part in parts.items():
        keys: dict[str, tuple] = {}
        for d in part:
            row = table[d]
            name = row[NAME]
            key = keys.get(name)
            if key is None:
                key = keys[name] = key_of(name_facts(name, row[CORE]), bits)
            group = groups.get(key)
            if group is None:
                groups[key] = [d]
            else:
                group.append(d)
    rotation = _rotation(path, searcher, request.today)
    out: list[int] = []
    for key in sorted(groups):
        need = stop - len(out)
        group = groups[key]
        if len(group) <= need:
            out.extend(sorted(group, key=rotation.__getitem__))
        else:
            out.extend(heapq.nsmallest(need, group, key=rotation.__getitem__))
        if len(out) >= stop:
            break
    return out


def _query_filters(request: SearchRequest):
    parts = []
    if request.county_id:
        parts.append(Term("county_id", str(request.county_id)))
    if request.category_id:
        parts.append(Term("category_id", str(request.category_id)))
    parts += [Term("marks", mark) for mark in request.marks if mark in MARKS]
    if request.price:
        parts.append(Term("price_bucket", request.price))
    return parts


def _count_facets(table: list, docnums) -> dict[str, dict[str, int]]:
    combos = Counter(table[d][:4] for d in docnums)
    counts: dict[str, Counter] = {name: Counter() for name in FACET_COLUMNS}
    for (county, category, bucket, marks), n in combos.items():
        counts["county_id"][county] += n
        counts["category_id"][category] += n
        counts["price_bucket"][bucket] += n
        for mark in marks:
            counts["marks"][mark] += n
    return {name: dict(c) for name, c in counts.items()}


def _sorted_page(path, searcher, request: SearchRequest, matched: set[int], table,
                 stop: int) -> list[int]:
    """Price and sales sorts, and the order of everything when no text was typed."""
    what = request.sort if request.sort in ("price", "-price", "sales") else "rotation"
    if len(matched) > SMALL:
        return _walk(path, searcher, request, matched, what, stop)
    rotation = _rotation(path, searcher, request.today)
    if what == "price":
        key = lambda d: (table[d][PRICE], rotation[d])  # noqa: E731
    elif what == "-price":
        key = lambda d: (-table[d][PRICE], rotation[d])  # noqa: E731
    elif what == "sales":
        key = lambda d: (-table[d][SALES], rotation[d])  # noqa: E731
    else:
        key = rotation.__getitem__
    return heapq.nsmallest(stop, matched, key=key)


def search(path: str, request: SearchRequest) -> SearchHits:
    searcher = _searcher(path)
    valid = _valid_docnums(path, searcher, request.today)
    table = _doc_table(path, searcher)
    matched = valid
    for part in _query_filters(request):
        matched = matched.intersection(_docs(searcher, part))
    finder = _Finder(path, searcher, table)
    chunks = finder.chunks(request.text)
    if chunks and matched:
        found = _match(finder, chunks, searcher.doc_count())
        matched = matched & found if found is not None else matched
    if not matched:
        return SearchHits(ids=[], total=0, facets={name: {} for name in FACET_COLUMNS})
    start, stop = (request.page - 1) * request.per_page, request.page * request.per_page
    if chunks and request.sort == "relevance":
        docs = _ranked(path, searcher, request, _Ranker(chunks), matched, table, stop)
    else:
        docs = _sorted_page(path, searcher, request, matched, table, stop)
    return SearchHits(
        ids=[table[d][PRODUCT_ID] for d in docs[start:stop]],
        total=len(matched),
        facets=_count_facets(table, matched),
    )


def suggest(path: str, prefix: str, today: date, limit: int = 8) -> list[str]:
    """Product names for a prefix of Chinese or pinyin, for suggestions as one types."""
    prefix = normalise(prefix).strip()[:40]
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
    text = normalise(text).strip()[:40]
    if not text:
        return None
    searcher = _searcher(path)
    reader = searcher.reader()
    # The first character is taken as typed (it bounds the terms compared, which is what
    # keeps this affordable); of the close terms, one that sounds the same wins (粉跳 ->
    # 粉条: a pinyin input slip), then the commonest.
    found = [t for t in searcher.suggest("all", text, limit=8, prefix=1,
                                         maxdist=2 if len(text) > 3 else 1)
             if t != text and _same_shape(text, t)]
    if found:
        sound = pinyin_of(text)[0] if is_cjk(text) else None
        return max(found, key=lambda t: (sound is not None and pinyin_of(t)[0] == sound,
                                          reader.doc_frequency("all", t)))
    words = text.split() if len(text.split()) > 1 else query_words(text)
    if len(words) > 1:
        fixed = [correction(path, w) or w for w in words]
        if fixed != words:
            return " ".join(fixed)
    return None


def _same_shape(typed: str, term: str) -> bool:
    """A correction replaces characters, it does not drop or add a Chinese one (陶城镇 is
    not a typo of 城镇, nor 槐花蜜 of 花蜜); pinyin may lose or gain one letter, no more."""
    if is_cjk(typed) or is_cjk(term):
        return len(typed) == len(term) and is_cjk(typed) == is_cjk(term)
    return len(typed) >= 4 and abs(len(typed) - len(term)) <= 1


def doc_count(path: str) -> int:
    return _searcher(path).doc_count()


def hold_write_lock(path: str):
    """A writer that holds the index lock until cancelled: for tests of lock contention."""
    return _index(path).writer()


def stored_documents(path: str) -> dict[int, dict]:
    """{product id: stored fields} for every document: for consistency checks."""
    return {int(f["id"]): f for f in _searcher(path).all_stored_fields()}


