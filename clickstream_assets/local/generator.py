"""Synthetic clickstream and pageview dumps, byte for byte in the formats Wikimedia publishes.

The local mirror serves these files when the real site is out of reach, so everything
downstream (download, parsing, analytics, Kafka, the warehouse, Spark) runs on data that looks
like the real thing without shipping any of it.

Clickstream model (one month of one wiki)
    A wiki has P articles; each has a popularity rank drawn as a random permutation, so the
    file order says nothing about popularity. Each article is `curr` of one group of rows:

    - external rows, one per referrer (`other-empty`, `other-internal`, `other-external`,
      `other-search`, `other-other`), each present with a probability that grows with
      popularity. As in the real dumps every one of them has type `external`; the page's
      external clicks are Zipf-distributed over ranks (about 1/rank) and split between the
      referrers with search and empty in the lead.
    - article rows `A -> curr`, their number growing with popularity (about 1/sqrt(rank)).
      Each `A` is drawn with probability about 1/rank, so popular pages send most clicks and
      every page that links also receives clicks: two-step paths A -> B -> C abound. About
      5% of article rows have type `other` (no link between the pages), the rest `link`.
      Their `n` is Pareto-distributed from 10 upward, independent of `A`; since a page's
      outgoing rows grow with its popularity like its incoming external clicks do, but with a
      smaller total, the estimated exits (views - clicks out) are positive for most pages.

    Rows with the same `(prev, curr)` never repeat, no page links to itself, and `n >= 10`
    everywhere (the real dumps drop rarer pairs). Titles are built from per-language word
    lists, with underscores, parentheses, commas, quotes and the wiki's own script; the
    mapping from page number to title is injective, so distinct pages never share a title.

Pageview model (one hour, all projects)
    A fixed mix of projects (`en`, `en.m`, `de`, `commons.m`, `www.wd`, `en.d`, `aa`, ...)
    shares the lines. Each project's titles are drawn as a sorted random sample of a title
    space whose order is the bytewise order of the titles, so the file comes out sorted by
    `domain_code`, then `page_title`, without sorting anything. `count_views` is Pareto
    from 1 upward (most pages were viewed once that hour, a few thousands of times);
    `total_response_size` is 0. The legacy pagecounts-raw variant uses the desktop project
    codes of that era, real byte sizes (views times a log-normal page size) and one `.mw`
    mobile subtotal line per language.

Both writers are deterministic: the same arguments give byte-identical files, whichever
machine or process writes them. Work is done in chunks of vectorized numpy and Arrow
operations, so memory stays bounded whatever the size, and gzip is written by ISA-L on a
background thread. Files are written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import os
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from isal import igzip_threaded

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]

REFERRERS = ("other-empty", "other-internal", "other-external", "other-search", "other-other")
TYPES = ("link", "external", "other")
TYPE_LINK, TYPE_EXTERNAL, TYPE_OTHER = 0, 1, 2

# Probability that a page of little popularity has a row from each referrer (same order as
# REFERRERS); the most popular pages have all five. With the boost of popular pages a page has
# about 1.56 external rows; as in the real English dumps other-empty and other-search lead.
REFERRER_PRESENCE = np.array([0.55, 0.17, 0.11, 0.45, 0.06])
EXTERNAL_ROWS_PER_PAGE = 1.56
# Share of the most popular pages that have rows from all referrers (about).
TOP_PAGE_SHARE = 0.001
# Share of all rows that are external, as in the real English dumps; the rest are article rows.
EXTERNAL_ROW_SHARE = 0.36
# How a page's external clicks split between the referrers: search and empty bring most.
REFERRER_SHARE = np.array([0.33, 0.07, 0.04, 0.53, 0.03])
# External clicks of the page at the median rank; the top page gets about P/2 times as many,
# which for a full English month is a Main_Page-like few hundred million. The log-normal
# spread between pages gives the long tail of search traffic the real dumps have.
MEDIAN_EXTERNAL_CLICKS = 100
EXTERNAL_CLICKS_SIGMA = 1.0
# Share of article rows without a link between the pages (type `other`).
OTHER_TYPE_SHARE = 0.05
# `n` of article rows is Lomax-distributed from MIN_N: median about 26, 90th percentile about
# 165, 99th about 1,900, like the link rows of the real dumps.
ARTICLE_N_ALPHA = 0.95
ARTICLE_N_SCALE = 15.0
# No article row carries more than this share of the referring page's expected external
# clicks: readers cannot leave a page more often than they arrive at it.
MAX_TRANSITION_SHARE = 0.3
MIN_N = 10
MAX_N = 10**9
# Pages per generation chunk: about 450,000 rows, a few tens of MB of Arrow buffers.
CLICKSTREAM_CHUNK_PAGES = 100_000
# Pages per slice while planning, to keep temporaries small.
PLAN_SLICE = 1 << 20

PAGEVIEW_CHUNK_LINES = 500_000
MAX_VIEWS = 10**7
# Bytes per view in pagecounts-raw: log-normal around a typical article's HTML size.
LEGACY_MEDIAN_PAGE_BYTES = 12_000
# ISA-L level 1 keeps compression off the critical path; the files are a little larger than
# Wikimedia's but decompress the same way.
GZIP_LEVEL = 1
WRITE_BLOCK_BYTES = 4 << 20


@dataclass(frozen=True)
class GeneratedDump:
    """What a writer produced: `rows` lines whose counts (`n` or `count_views`) sum to `sum_n`."""

    path: Path
    rows: int
    sum_n: int
    bytes_written: int
    uncompressed_bytes: int
    seconds: float


# Word lists per language: a first word and a second word of each title. Within a list no word
# is a prefix of another and none holds a separator (`_ , ( ) ' "`), which makes titles
# injective and lets the pageview writer emit titles in sorted order by construction.
_WORDS = {
    "en": (
        "Albert Bristol Café Dvořák Edinburgh Falcon Glasgow Harbour Iceland Jazz Kingston "
        "Lighthouse Marathon Nebula Oxford Pioneer Quartz Riverside Saturn Thunder Utopia "
        "Victoria Willow York Zürich Łódź Brontë Zoë Montréal Göteborg Crescent Meadow",
        "Academy Bridge Castle Dynasty Expedition Festival Gardens Highway Institute Junction "
        "Kingdom Library Museum Navy Observatory Parliament Quarry Railway Symphony Theatre "
        "University Valley Workshop Orchestra Cathedral Stadium Treaty Lagoon Pavilion "
        "Reservoir Tunnel Dandy–Walker",
    ),
    "de": (
        "Aachen Bäckerei Dresden Elbe Fußball Görlitz Hamburg Isar Jülich Köln Lübeck München "
        "Nürnberg Oberhausen Pförtner Quedlinburg Rhön Schwäbisch Tübingen Ulm Völklingen "
        "Würzburg Zwickau Brücke Straße Größe Öl Übersee Erzgebirge Lüneburg",
        "Abkommen Bahnhof Burg Denkmal Eisenbahn Friedhof Gymnasium Hafen Kirche Landkreis "
        "Marktplatz Naturschutzgebiet Oper Rathaus Schloss Talsperre Universität Verlag Wald "
        "Zeitung Flughafen Bergwerk Kaserne Mühle Gemeinde Pfarrkirche Römerstraße Fähre",
    ),
    "es": (
        "Andalucía Barcelona Córdoba Durango España Fútbol Granada Huelva Ibiza Jaén León "
        "Málaga Navarra Oviedo Peñíscola Quito Río Sevilla Toledo Úbeda Valencia Zaragoza "
        "Ñandú Cádiz Logroño Bogotá",
        "Academia Biblioteca Catedral Dinastía Estación Fundación Guerra Hospital Iglesia "
        "Jardín Museo Nación Observatorio Palacio Revolución Sinfonía Teatro Universidad "
        "Villa Aeropuerto Castillo Puente Región Ejército",
    ),
    "fa": (
        "تهران اصفهان شیراز تبریز مشهد کرمان یزد همدان رشت قم اهواز ارومیه زنجان ساری بوشهر",
        "دانشگاه موزه مسجد کتابخانه باغ بازار پل کاخ ورزشگاه فرودگاه رودخانه کوه دریاچه استان "
        "شهرستان نبرد",
    ),
    "fr": (
        "Avignon Bordeaux Château Dijon Épinal Français Grenoble Hôtel Île Jura Lyon Marseille "
        "Nîmes Orléans Périgord Québec Reims Strasbourg Toulouse Évreux Versailles Béziers "
        "Cœur Zénith Angoulême",
        "Abbaye Basilique Cathédrale Département Église Fontaine Gare Hôpital Lycée Musée "
        "Opéra Palais Quartier République Théâtre Université Vallée Forêt Canal Pont Région "
        "Armée",
    ),
    "it": (
        "Abruzzo Bologna Calabria Dolomiti Emilia Firenze Genova Liguria Milano Napoli "
        "Palermo Ravenna Sardegna Torino Umbria Venezia Verona Città Perù Cantù Forlì "
        "Gioacchino Modena Lucca Siena",
        "Accademia Basilica Cattedrale Dinastia Ferrovia Giardino Museo Ospedale Palazzo "
        "Repubblica Stazione Teatro Università Villa Castello Ponte Regione Abbazia Fontana "
        "Battaglia",
    ),
    "ja": (
        "東京 大阪 京都 北海道 名古屋 横浜 神戸 福岡 札幌 仙台 広島 奈良 "
        "沖縄 鎌倉 長崎 熊本 金沢 富士 日光 箱根",
        "駅 大学 神社 寺院 城 美術館 博物館 公園 空港 線 高等学校 図書館 劇場 港 放送局",
    ),
    "pl": (
        "Białystok Częstochowa Gdańsk Katowice Kraków Łódź Lublin Poznań Rzeszów Szczecin "
        "Toruń Wrocław Zakopane Świnoujście Żyrardów Gniezno Olsztyn Opole Kielce Bydgoszcz",
        "Akademia Bazylika Biblioteka Dworzec Katedra Kościół Muzeum Pałac Ratusz Szkoła "
        "Teatr Uniwersytet Zamek Rynek Lotnisko Cmentarz Powiat Gmina Województwo Bitwa",
    ),
    "pt": (
        "Amazônia Bahia Ceará Goiás Lisboa Maranhão Paraná Piauí Recife Santarém Coimbra "
        "Évora Brasília Niterói Belém Manaus Porto Açores Fortaleza",
        "Academia Biblioteca Catedral Estação Fundação Igreja Museu Palácio Revolução "
        "Universidade Aeroporto Castelo Ponte Região Batalha Exército Mosteiro",
    ),
    "ru": (
        "Москва Санкт-Петербург Новосибирск Екатеринбург Казань Нижний Самара Омск Ростов Уфа "
        "Красноярск Пермь Воронеж Волгоград Краснодар Саратов Тюмень Ижевск Барнаул Иркутск "
        "Хабаровск Ярославль Владивосток Томск",
        "Академия Библиотека Вокзал Гимназия Дворец Церковь Музей Собор Театр Университет "
        "Мост Район Улица Площадь Крепость Монастырь Парк Аэропорт Завод Битва Губерния",
    ),
    "zh": (
        "北京 上海 广州 深圳 南京 杭州 成都 武汉 西安 "
        "重庆 天津 苏州 长沙 青岛 厦门 昆明 哈尔滨 郑州",
        "大学 车站 机场 博物馆 公园 寺 图书馆 剧院 医院 广场 铁路 中学 大桥 体育场",
    ),
}
_SEPARATORS = set("_,()'\" \t\n")


def _check_words(language: str, words: list[str]) -> list[str]:
    """Sort a word list bytewise and fail at import if it could make two titles collide."""
    ordered = sorted(set(words))
    if len(ordered) != len(words):
        raise ValueError(f"word list {language!r} repeats a word")
    for word in ordered:
        if _SEPARATORS & set(word) or word[0] <= "(":
            raise ValueError(f"word {word!r} of list {language!r} holds a title separator")
    for left, right in itertools.pairwise(ordered):
        if right.startswith(left):
            raise ValueError(f"word {left!r} of list {language!r} is a prefix of {right!r}")
    return ordered


WORDS = {
    language: (
        _check_words(language, firsts.split()),
        _check_words(language, seconds.split()),
    )
    for language, (firsts, seconds) in _WORDS.items()
}

# Title templates of the clickstream writer: (lead, after first word, after second word,
# close). Each has its own punctuation, so a title tells which template and words made it.
_TEMPLATES = (
    ("", "_", "_", ""),  # Albert_Bridge_1912
    ("", "_", "_(", ")"),  # Albert_Bridge_(1912)
    ("", ",_", "_", ""),  # Albert,_Bridge_1912
    ("", "'s_", "_", ""),  # Albert's_Bridge_1912
    ('"', '"_', "_", ""),  # "Albert"_Bridge_1912
    ("", "_(", "_", ")"),  # Albert_(Bridge_1912)
)
# Cumulative per-mille weights of the templates: plain titles are most common.
_TEMPLATE_CUTS = np.array([550, 700, 780, 850, 910, 1000])
# The third part of a clickstream title is a number read as a year: 1850, 1851, ...
_FIRST_YEAR = 1850


def _stable_hash(*parts: object) -> int:
    """A 32-bit hash that, unlike hash(), is the same in every process."""
    return zlib.crc32("\x1f".join(str(part) for part in parts).encode())


def _rng(seed: int, *stream: object) -> np.random.Generator:
    """A generator for one independent stream of a dump (setup, chunk 0, chunk 1, ...)."""
    keys = [int(seed) & 0xFFFFFFFF, int(seed) >> 32 & 0xFFFFFFFF]
    keys += [_stable_hash(part) for part in stream]
    return np.random.default_rng(np.random.SeedSequence(keys))


def _coprime_step(size: int) -> int:
    """A multiplier near size/2.6 that is coprime with size, to scatter consecutive numbers."""
    step = max(1, round(size / 2.6))
    while math.gcd(step, size) != 1:
        step += 1
    return step


def _wiki_language(wiki: str) -> str:
    language = wiki.removesuffix("wiki")
    if language not in WORDS:
        raise ValueError(
            f"wiki {wiki!r}: no word list for language {language!r}; "
            f"expected one of {', '.join(sorted(w + 'wiki' for w in WORDS))}"
        )
    return language


def article_titles(pages: np.ndarray, language: str) -> pa.StringArray:
    """The titles of page numbers `pages`; distinct numbers always give distinct titles."""
    firsts, seconds = WORDS[language]
    n_first, n_second = len(firsts), len(seconds)
    pages = pages.astype(np.int64)

    # Page numbers come in blocks of one title per word pair; within a block a multiplicative
    # permutation scatters neighbours, so consecutive pages share no words.
    block_size = n_first * n_second
    block, within = np.divmod(pages, block_size)
    within = within * _coprime_step(block_size) % block_size
    a = (within % n_first + 7 * block) % n_first
    b = (within // n_first + 3 * block) % n_second
    # The block is shown as a year; permuting each run of 150 spreads small dumps over years.
    year = _FIRST_YEAR + block // 150 * 150 + block % 150 * 37 % 150
    template = np.searchsorted(_TEMPLATE_CUTS, (pages * 2654435761 >> 7) % 1000, side="right")

    parts = [pa.array([t[k] for t in _TEMPLATES]).take(pa.array(template)) for k in range(4)]
    first = pa.array(firsts).take(pa.array(a))
    second = pa.array(seconds).take(pa.array(b))
    number = pc.cast(pa.array(year), pa.string())
    return pc.binary_join_element_wise(
        parts[0], first, parts[1], second, parts[2], number, parts[3], ""
    )


def _terminate_lines(fields: list) -> pa.Array:
    """Join columns into lines: fields separated by the first separator, each ended by LF."""
    *columns, separator = fields
    return pc.binary_join_element_wise(pc.binary_join_element_wise(*columns, separator), "", "\n")


def _line_bytes(lines: pa.Array) -> memoryview:
    """The bytes of all strings of a string array, back to back, without copying."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    start, stop = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return memoryview(lines.buffers()[2])[start:stop]


@contextlib.contextmanager
def _atomic_gzip(path: Path) -> Iterator:
    """A gzip writer to a temporary file beside `path`, renamed to `path` only on success."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    # mkstemp creates the file private; a dump is as readable as any file the user writes.
    tmp.chmod(0o644)
    try:
        # One thread compresses while the caller builds the next chunk; the result is a single
        # gzip member with mtime 0, so identical input gives identical bytes.
        with igzip_threaded.open(
            tmp, "wb", compresslevel=GZIP_LEVEL, threads=1, block_size=WRITE_BLOCK_BYTES
        ) as gz:
            yield gz
        with open(tmp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# Clickstream ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _ClickstreamPlan:
    """Per-page counts fixed before any row is written, so the row total is exact."""

    pages: int
    rank: np.ndarray  # popularity rank of each page (0 = most popular)
    page_of_rank: np.ndarray
    referrer_bits: np.ndarray  # bit k set: the page has a row from REFERRERS[k]
    article_rows: np.ndarray
    total_rows: int


def _popcount5(bits: np.ndarray) -> np.ndarray:
    """External rows per page: the set bits of each referrer mask."""
    count = np.zeros(len(bits), dtype=np.uint8)
    for k in range(len(REFERRERS)):
        count += (bits >> k) & 1
    return count


def _add_article_rows(
    plan_arrays: tuple[np.ndarray, np.ndarray], delta: int, cap: int, rng: np.random.Generator
) -> int:
    """Add `delta` article rows, to pages drawn like the rows themselves; return what is left.

    The change is small (the noise of the Poisson draws), so pages are drawn one per missing
    row rather than by a multinomial over all pages, which would cost a few arrays of P.
    """
    article_rows, page_of_rank = plan_arrays
    pages = len(article_rows)
    for attempt in range(64):
        if delta <= 0:
            break
        if attempt < 32:
            # Inverse CDF of a density proportional to rank^-0.5, the weight of the first draw.
            root = 1.0 + rng.random(delta) * (math.sqrt(pages + 1.0) - 1.0)
            ranks = np.clip(np.floor(root * root).astype(np.int64) - 1, 0, pages - 1)
            drawn = page_of_rank[ranks]
        else:
            drawn = rng.integers(0, pages, size=delta)
        chosen, times = np.unique(drawn, return_counts=True)
        added = np.minimum(times, cap - article_rows[chosen])
        article_rows[chosen] += added.astype(article_rows.dtype)
        delta -= int(added.sum())
    return delta


def _remove_article_rows(
    article_rows: np.ndarray, external_rows: np.ndarray, delta: int, rng: np.random.Generator
) -> int:
    """Remove `delta` article rows from random pages, never a page's last row; return the rest."""
    pages = len(article_rows)
    for _ in range(64):
        if delta <= 0:
            break
        chosen, times = np.unique(rng.integers(0, pages, size=delta), return_counts=True)
        removable = article_rows[chosen].astype(np.int64) - (external_rows[chosen] == 0)
        removed = np.minimum(times, np.maximum(removable, 0))
        article_rows[chosen] -= removed.astype(article_rows.dtype)
        delta -= int(removed.sum())
    return delta


def _plan_clickstream(rows: int, rng: np.random.Generator) -> _ClickstreamPlan:
    """Fix the pages, their popularity and their row counts, summing to `rows` if possible.

    Arrays of P are int32, uint8 or float32 and made in slices, so a full English month
    (7.6 million pages) plans in about 200 MB.
    """
    # At least a few pages, so that even a dump of a handful of rows has room for them.
    pages = max(8, round(rows * EXTERNAL_ROW_SHARE / EXTERNAL_ROWS_PER_PAGE))
    rank = rng.permutation(pages).astype(np.int32)
    page_of_rank = np.empty(pages, dtype=np.int32)
    page_of_rank[rank] = np.arange(pages, dtype=np.int32)
    # Caps the rows per page so that drawing distinct referring pages always terminates.
    cap = (pages - 1) // 2
    top = np.float32(max(1.0, pages * TOP_PAGE_SHARE))

    referrer_bits = np.zeros(pages, dtype=np.uint8)
    weight = np.empty(pages, dtype=np.float32)
    expected_external = 0.0
    for first in range(0, pages, PLAN_SLICE):
        ranks = rank[first : first + PLAN_SLICE].astype(np.float32) + np.float32(1)
        popularity = np.minimum(np.float32(1), np.sqrt(top / ranks))
        for k, presence in enumerate(REFERRER_PRESENCE):
            chance = np.float32(presence) + np.float32(1 - presence) * popularity
            hit = rng.random(len(ranks), dtype=np.float32) < chance
            referrer_bits[first : first + PLAN_SLICE] |= hit.astype(np.uint8) << k
            expected_external += float(chance.sum(dtype=np.float64))
        weight[first : first + PLAN_SLICE] = ranks ** np.float32(-0.5)
    weight *= np.float32(max(rows - expected_external, 0) / weight.sum(dtype=np.float64))

    article_rows = np.empty(pages, dtype=np.int32)
    for first in range(0, pages, PLAN_SLICE):
        drawn = rng.poisson(weight[first : first + PLAN_SLICE])
        article_rows[first : first + PLAN_SLICE] = np.minimum(drawn, cap)
    del weight
    orphan = (referrer_bits == 0) & (article_rows == 0)
    referrer_bits[orphan] |= np.uint8(1 << REFERRERS.index("other-search"))

    # Bring the total to exactly `rows` by adding or removing article rows.
    external_rows = _popcount5(referrer_bits)
    delta = rows - int(external_rows.sum(dtype=np.int64) + article_rows.sum(dtype=np.int64))
    if delta > 0 and _add_article_rows((article_rows, page_of_rank), delta, cap, rng) > 0:
        raise ValueError(f"rows={rows:,} is more than {pages:,} generated pages can hold")
    if delta < 0:
        # What cannot be removed (only in dumps of a few rows) is cut from the end instead.
        _remove_article_rows(article_rows, external_rows, -delta, rng)
    total = int(external_rows.sum(dtype=np.int64) + article_rows.sum(dtype=np.int64))
    return _ClickstreamPlan(pages, rank, page_of_rank, referrer_bits, article_rows, total)


def _draw_prev_ranks(size: int, pages: int, rng: np.random.Generator) -> np.ndarray:
    """Popularity ranks with probability about 1/rank (a continuous Zipf with exponent 1)."""
    ranks = np.floor(np.exp(rng.random(size) * math.log(pages + 1.0))).astype(np.int64) - 1
    return np.clip(ranks, 0, pages - 1)


def _draw_prevs(
    plan: _ClickstreamPlan, group: np.ndarray, curr: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Referring pages for article rows: popular pages likelier, distinct within a group."""
    prev = plan.page_of_rank[_draw_prev_ranks(len(curr), plan.pages, rng)].astype(np.int64)
    for attempt in range(200):
        order = np.lexsort((prev, group))
        same = (group[order][1:] == group[order][:-1]) & (prev[order][1:] == prev[order][:-1])
        bad = np.zeros(len(prev), dtype=bool)
        bad[order[1:][same]] = True
        bad |= prev == curr
        redo = np.flatnonzero(bad)
        if len(redo) == 0:
            return prev
        # Popular pages are few, so a page with many rows can run out of them: after a few
        # rounds fall back to uniform draws, which always find a free page (cap <= P/2).
        if attempt < 20:
            ranks = _draw_prev_ranks(len(redo), plan.pages, rng)
            prev[redo] = plan.page_of_rank[ranks]
        else:
            prev[redo] = rng.integers(0, plan.pages, size=len(redo))
    raise RuntimeError("could not draw distinct referring pages")


def _expected_external_clicks(plan: _ClickstreamPlan, rank: np.ndarray) -> np.ndarray:
    """External clicks that pages of these ranks receive before noise: Zipf, about 1/rank."""
    return MEDIAN_EXTERNAL_CLICKS * (plan.pages / 2) / (rank + 1)


def _clickstream_chunk(
    plan: _ClickstreamPlan, first: int, stop: int, language: str, rng: np.random.Generator
) -> tuple[pa.Array, np.ndarray]:
    """The lines of pages first..stop-1 and their `n`."""
    count = stop - first
    rank = plan.rank[first:stop].astype(np.float64)

    # External rows: one per referrer bit, n from the page's Zipf share of external clicks.
    bits = plan.referrer_bits[first:stop]
    present = ((bits[:, None] >> np.arange(len(REFERRERS), dtype=np.uint8)) & 1).astype(bool)
    ext_page, ext_referrer = np.nonzero(present)
    clicks = _expected_external_clicks(plan, rank)
    clicks *= rng.lognormal(0.0, EXTERNAL_CLICKS_SIGMA, size=count)
    ext_n = clicks[ext_page] * REFERRER_SHARE[ext_referrer]
    ext_n *= rng.lognormal(0.0, 0.35, size=len(ext_page))

    # Article rows: referring pages drawn by popularity, n Lomax from MIN_N and bounded by
    # what the referring page receives.
    art_page = np.repeat(np.arange(count), plan.article_rows[first:stop])
    prev = _draw_prevs(plan, art_page, art_page + first, rng)
    spread = (1.0 - rng.random(len(art_page))) ** (-1.0 / ARTICLE_N_ALPHA) - 1.0
    prev_clicks = _expected_external_clicks(plan, plan.rank[prev].astype(np.float64))
    art_n = np.minimum(MIN_N + ARTICLE_N_SCALE * spread, MAX_TRANSITION_SHARE * prev_clicks)
    art_type = np.where(rng.random(len(art_page)) < OTHER_TYPE_SHARE, TYPE_OTHER, TYPE_LINK)

    # Rows of a page stay together, in random order within the group as in the real dumps.
    unique_prev, prev_index = np.unique(prev, return_inverse=True)
    page = np.concatenate([ext_page, art_page])
    prev_code = np.concatenate([ext_referrer, len(REFERRERS) + prev_index])
    kind = np.concatenate([np.full(len(ext_page), TYPE_EXTERNAL), art_type])
    n = np.clip(np.rint(np.concatenate([ext_n, art_n])), MIN_N, MAX_N).astype(np.int64)
    order = np.lexsort((rng.random(len(page)), page))

    prev_titles = pa.concat_arrays([pa.array(REFERRERS), article_titles(unique_prev, language)])
    curr_titles = article_titles(np.arange(first, stop), language)
    lines = _terminate_lines(
        [
            prev_titles.take(pa.array(prev_code[order])),
            curr_titles.take(pa.array(page[order])),
            pa.array(TYPES).take(pa.array(kind[order])),
            pc.cast(pa.array(n[order]), pa.string()),
            "\t",
        ]
    )
    return lines, n[order]


def write_clickstream_dump(
    path: Path,
    *,
    wiki: str,
    month: str,
    rows: int,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> GeneratedDump:
    """Write a synthetic monthly clickstream dump of exactly `rows` rows to `path` (gzip).

    The format is the real one: `prev<TAB>curr<TAB>type<TAB>n`, no header. The same `wiki`,
    `month` (`YYYY-MM` or a partition key `YYYY-MM-01`), `rows` and `seed` give the same bytes.
    `progress(rows_done, rows)` is called after each chunk.
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    language = _wiki_language(wiki)
    started = time.monotonic()
    plan = _plan_clickstream(rows, _rng(seed, "clickstream", wiki, month[:7], rows, "plan"))

    done = sum_n = raw_bytes = 0
    with _atomic_gzip(path) as gz:
        for chunk, first in enumerate(range(0, plan.pages, CLICKSTREAM_CHUNK_PAGES)):
            stop = min(first + CLICKSTREAM_CHUNK_PAGES, plan.pages)
            rng = _rng(seed, "clickstream", wiki, month[:7], rows, chunk)
            lines, n = _clickstream_chunk(plan, first, stop, language, rng)
            if done + len(lines) > rows:
                lines, n = lines.slice(0, rows - done), n[: rows - done]
            data = _line_bytes(lines)
            gz.write(data)
            done += len(lines)
            sum_n += int(n.sum())
            raw_bytes += len(data)
            log.debug(f"generated {done:,} of {rows:,} clickstream rows ({done / rows:.0%})")
            if progress is not None:
                progress(done, rows)
            if done >= rows:
                break
    seconds = time.monotonic() - started
    log.info(f"wrote {done:,} clickstream rows of {wiki} {month[:7]} to {path} in {seconds:.1f} s")
    return GeneratedDump(path, done, sum_n, path.stat().st_size, raw_bytes, seconds)


# Pageviews --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Project:
    """One domain_code of a pageview dump and how its titles look."""

    domain_code: str
    share: float  # of all lines
    language: str
    family: str  # "wiki", "commons" or "wikidata"
    alpha: float  # Pareto exponent of count_views: smaller means heavier traffic


# Current pageview dumps: desktop and mobile (`.m`) Wikipedias, Wiktionary (`.d`), other
# sister projects, Commons (`commons.m`, mobile `commons.m.m`), Wikidata (`www.wd`) and a few
# of the hundreds of small wikis. Shares follow a real hour roughly.
PAGEVIEW_PROJECTS = (
    _Project("aa", 0.00002, "en", "wiki", 2.0),
    _Project("ab", 0.0002, "ru", "wiki", 1.8),
    _Project("af", 0.0008, "en", "wiki", 1.7),
    _Project("af.m", 0.0009, "en", "wiki", 1.7),
    _Project("als", 0.0003, "de", "wiki", 1.8),
    _Project("ar", 0.008, "fa", "wiki", 1.5),
    _Project("ar.m", 0.012, "fa", "wiki", 1.5),
    _Project("commons.m", 0.03, "en", "commons", 1.6),
    _Project("commons.m.m", 0.004, "en", "commons", 1.7),
    _Project("de", 0.045, "de", "wiki", 1.3),
    _Project("de.d", 0.002, "de", "wiki", 1.7),
    _Project("de.m", 0.05, "de", "wiki", 1.3),
    _Project("de.voy", 0.0005, "de", "wiki", 1.7),
    _Project("en", 0.175, "en", "wiki", 1.2),
    _Project("en.b", 0.002, "en", "wiki", 1.7),
    _Project("en.d", 0.008, "en", "wiki", 1.6),
    _Project("en.m", 0.235, "en", "wiki", 1.15),
    _Project("en.m.d", 0.004, "en", "wiki", 1.6),
    _Project("en.q", 0.001, "en", "wiki", 1.7),
    _Project("en.s", 0.002, "en", "wiki", 1.7),
    _Project("es", 0.025, "es", "wiki", 1.3),
    _Project("es.m", 0.055, "es", "wiki", 1.3),
    _Project("fa", 0.003, "fa", "wiki", 1.5),
    _Project("fa.m", 0.008, "fa", "wiki", 1.5),
    _Project("fr", 0.035, "fr", "wiki", 1.3),
    _Project("fr.d", 0.003, "fr", "wiki", 1.7),
    _Project("fr.m", 0.04, "fr", "wiki", 1.3),
    _Project("it", 0.02, "it", "wiki", 1.4),
    _Project("it.m", 0.025, "it", "wiki", 1.4),
    _Project("ja", 0.025, "ja", "wiki", 1.3),
    _Project("ja.d", 0.001, "ja", "wiki", 1.7),
    _Project("ja.m", 0.06, "ja", "wiki", 1.3),
    _Project("m.wd", 0.001, "en", "wikidata", 1.8),
    _Project("meta.m", 0.001, "en", "wiki", 1.7),
    _Project("pl", 0.01, "pl", "wiki", 1.4),
    _Project("pl.m", 0.012, "pl", "wiki", 1.4),
    _Project("pt", 0.008, "pt", "wiki", 1.4),
    _Project("pt.m", 0.02, "pt", "wiki", 1.4),
    _Project("ru", 0.03, "ru", "wiki", 1.3),
    _Project("ru.m", 0.035, "ru", "wiki", 1.3),
    _Project("simple", 0.001, "en", "wiki", 1.6),
    _Project("www.wd", 0.012, "en", "wikidata", 1.8),
    _Project("zh", 0.02, "zh", "wiki", 1.4),
    _Project("zh.m", 0.015, "zh", "wiki", 1.4),
    _Project("zh.m.d", 0.0005, "zh", "wiki", 1.7),
)

# pagecounts-raw (2007-2016) counted desktop traffic only; `.m` then meant the wikimedia.org
# projects (commons.m), and `<lang>.mw` lines carried each language's mobile subtotal.
LEGACY_PROJECTS = (
    _Project("commons.m", 0.04, "en", "commons", 1.6),
    _Project("de", 0.07, "de", "wiki", 1.3),
    _Project("de.d", 0.003, "de", "wiki", 1.7),
    _Project("en", 0.47, "en", "wiki", 1.2),
    _Project("en.b", 0.006, "en", "wiki", 1.7),
    _Project("en.d", 0.03, "en", "wiki", 1.6),
    _Project("en.s", 0.005, "en", "wiki", 1.7),
    _Project("es", 0.03, "es", "wiki", 1.3),
    _Project("fa", 0.003, "fa", "wiki", 1.5),
    _Project("fr", 0.057, "fr", "wiki", 1.3),
    _Project("fr.d", 0.004, "fr", "wiki", 1.7),
    _Project("it", 0.05, "it", "wiki", 1.4),
    _Project("ja", 0.02, "ja", "wiki", 1.3),
    _Project("pl", 0.017, "pl", "wiki", 1.4),
    _Project("pl.d", 0.003, "pl", "wiki", 1.7),
    _Project("pt", 0.019, "pt", "wiki", 1.4),
    _Project("ru", 0.02, "ru", "wiki", 1.3),
    _Project("ru.d", 0.002, "ru", "wiki", 1.7),
    _Project("www.wd", 0.032, "en", "wikidata", 1.8),
    _Project("zh", 0.01, "zh", "wiki", 1.4),
    _Project("zh.d", 0.002, "zh", "wiki", 1.7),
)
MOBILE_SUBTOTAL_LANGUAGES = ("de", "en", "es", "fa", "fr", "it", "ja", "pl", "pt", "ru", "zh")

# The fixed-width number at the end of a title; its width grows until the title space of a
# project is at least this many times its lines, so sampled titles stay sparse.
TITLE_SPACE_FACTOR = 2
_NAMESPACES = ("Category:", "Talk:", "User:")


@dataclass(frozen=True)
class _TitleSpace:
    """Titles of one project, numbered so that number order is bytewise title order.

    A title is a head (a first word, maybe in a namespace) plus one of these suffixes, in
    this order: nothing, `_(<second>)`, then per second word `_<second>` followed by nothing
    or `_<number><extension>`, the number fixed-width. Heads and second words are sorted and
    prefix-free, so comparing two titles byte by byte compares their numbers.
    """

    heads: pa.Array
    seconds: pa.Array
    digits: int
    extension: str

    @property
    def per_head(self) -> int:
        return 1 + len(self.seconds) + len(self.seconds) * (1 + self.numbers)

    @property
    def numbers(self) -> int:
        return 9 * 10 ** (self.digits - 1)

    @property
    def size(self) -> int:
        return len(self.heads) * self.per_head

    def titles(self, numbers: np.ndarray) -> pa.Array:
        head, rest = np.divmod(numbers, self.per_head)
        n_second = len(self.seconds)
        # form 0: bare head, 1: _(second), 2: _second, 3: _second_number
        in_words = rest - 1 - n_second
        word, tail = np.divmod(np.maximum(in_words, 0), 1 + self.numbers)
        form = np.where(rest == 0, 0, np.where(in_words < 0, 1, np.where(tail == 0, 2, 3)))
        word = np.where(form == 1, rest - 1, np.where(form == 0, n_second, word))

        seconds = pa.concat_arrays([self.seconds, pa.array([""])])
        number = pc.cast(pa.array(10 ** (self.digits - 1) + tail - 1), pa.string())
        is_numbered = pa.array(form == 3)
        return pc.binary_join_element_wise(
            self.heads.take(pa.array(head)),
            pa.array(["", "_(", "_", "_"]).take(pa.array(form)),
            seconds.take(pa.array(word)),
            pa.array(["", ")", "", "_"]).take(pa.array(form)),
            pc.if_else(is_numbered, number, ""),
            pc.if_else(is_numbered, self.extension, ""),
            "",
        )


def _title_space(project: _Project, lines: int) -> _TitleSpace | None:
    """The title space of a wiki or Commons project; None for Wikidata (numbered items)."""
    if project.family == "wikidata":
        return None
    firsts, seconds = WORDS[project.language]
    if project.family == "commons":
        heads = [f"File:{word}" for word in firsts]
        extension = ".jpg"
    else:
        heads = firsts + [f"{ns}{word}" for ns in _NAMESPACES for word in firsts[:4]]
        extension = ""
    heads = _check_words(project.domain_code, heads)
    digits = 4
    while True:
        space = _TitleSpace(pa.array(heads), pa.array(seconds), digits, extension)
        if space.size >= TITLE_SPACE_FACTOR * lines:
            return space
        digits += 1


def _wikidata_titles(numbers: np.ndarray, digits: int) -> pa.Array:
    """Wikidata item ids of one width (Q10000000, ...), so number order is title order."""
    return pc.binary_join_element_wise(
        "Q", pc.cast(pa.array(10 ** (digits - 1) + numbers), pa.string()), ""
    )


def _allocate_lines(projects: tuple[_Project, ...], lines: int) -> list[int]:
    """Split `lines` between projects by share, exactly (largest remainders get the rest)."""
    shares = np.array([p.share for p in projects])
    # Every project gets a line once there are lines to spare, as every real hour has them.
    floor = 1 if lines >= 20 * len(projects) else 0
    spread = lines - floor * len(projects)
    exact = shares / shares.sum() * spread
    counts = np.floor(exact).astype(np.int64)
    counts[np.argsort(-(exact - counts), kind="stable")[: spread - int(counts.sum())]] += 1
    return (counts + floor).tolist()


def _pageview_lines(
    project: _Project, count: int, legacy: bool, seed: int, hour_key: str
) -> Iterator[tuple[pa.Array, np.ndarray]]:
    """The sorted lines of one project, in chunks, with their count_views."""
    space = _title_space(project, count)
    if space is None:
        digits = max(8, len(str(TITLE_SPACE_FACTOR * count)) + 1)
        size = 9 * 10 ** (digits - 1)
    else:
        size = space.size
    # One title per stratum of the title space: a sorted sample without sorting anything.
    stride = size // count
    for chunk, first in enumerate(range(0, count, PAGEVIEW_CHUNK_LINES)):
        stop = min(first + PAGEVIEW_CHUNK_LINES, count)
        rng = _rng(seed, "pageviews", hour_key, project.domain_code, legacy, chunk)
        numbers = np.arange(first, stop, dtype=np.int64) * stride
        numbers += rng.integers(0, stride, size=stop - first)
        titles = _wikidata_titles(numbers, digits) if space is None else space.titles(numbers)
        views = (1.0 - rng.random(stop - first)) ** (-1.0 / project.alpha)
        views = np.minimum(np.floor(views), MAX_VIEWS).astype(np.int64)
        if legacy:
            page_bytes = rng.lognormal(math.log(LEGACY_MEDIAN_PAGE_BYTES), 0.8, size=len(views))
            sizes = pc.cast(pa.array((views * page_bytes).astype(np.int64)), pa.string())
        else:
            sizes = "0"
        views_text = pc.cast(pa.array(views), pa.string())
        yield _terminate_lines([project.domain_code, titles, views_text, sizes, " "]), views


def _mobile_subtotal_line(
    language: str, desktop_views: int, seed: int, hour_key: str
) -> tuple[pa.Array, np.ndarray]:
    """The `<lang>.mw <lang> views bytes` line of pagecounts-raw."""
    rng = _rng(seed, "pageviews", hour_key, language, "mw")
    views = max(1, round(desktop_views * rng.uniform(0.3, 0.9)))
    size = round(views * rng.lognormal(math.log(9_000), 0.3))
    line = pa.array([f"{language}.mw {language} {views} {size}\n"])
    return line, np.array([views])


def _utc_hour(hour: datetime) -> datetime:
    """The hour as an aware UTC datetime on the hour; naive datetimes are taken as UTC."""
    hour = hour.replace(tzinfo=UTC) if hour.tzinfo is None else hour.astimezone(UTC)
    return hour.replace(minute=0, second=0, microsecond=0)


def write_pageview_dump(
    path: Path,
    *,
    hour: datetime,
    lines: int,
    seed: int = 0,
    legacy: bool = False,
    progress: ProgressCallback | None = None,
) -> GeneratedDump:
    """Write a synthetic hourly pageview dump of exactly `lines` lines to `path` (gzip).

    Lines are `domain_code page_title count_views total_response_size`, space-separated,
    sorted by domain_code, then page_title (bytewise, as in the real files). `legacy` writes
    the pagecounts-raw variant: real byte sizes and `.mw` mobile subtotal lines. The hour
    (naive means UTC), `lines`, `seed` and `legacy` decide the bytes.
    """
    if lines < 1:
        raise ValueError(f"lines must be at least 1, got {lines}")
    started = time.monotonic()
    hour_key = _utc_hour(hour).strftime("%Y%m%d-%H")
    projects = LEGACY_PROJECTS if legacy else PAGEVIEW_PROJECTS
    subtotals = [lang for lang in MOBILE_SUBTOTAL_LANGUAGES if legacy and lines > 100]
    counts = dict(zip(projects, _allocate_lines(projects, lines - len(subtotals)), strict=True))
    # Sorted by domain code: "en" < "en.b" < ... < "en.mw" < "en.s", as bytewise line order has.
    entries = sorted(
        [(p.domain_code, p) for p in projects] + [(f"{lang}.mw", lang) for lang in subtotals],
        key=lambda entry: entry[0],
    )

    done = sum_n = raw_bytes = 0
    desktop_views: dict[str, int] = {}
    with _atomic_gzip(path) as gz:
        for _, entry in entries:
            if isinstance(entry, str):
                chunks = [_mobile_subtotal_line(entry, desktop_views.get(entry, 0), seed, hour_key)]
            elif counts[entry]:
                chunks = _pageview_lines(entry, counts[entry], legacy, seed, hour_key)
            else:
                chunks = []
            for chunk, views in chunks:
                data = _line_bytes(chunk)
                gz.write(data)
                done += len(chunk)
                sum_n += int(views.sum())
                raw_bytes += len(data)
                if isinstance(entry, _Project):
                    desktop_views[entry.domain_code] = desktop_views.get(
                        entry.domain_code, 0
                    ) + int(views.sum())
                if progress is not None:
                    progress(done, lines)
    seconds = time.monotonic() - started
    log.info(f"wrote {done:,} pageview lines of hour {hour_key} to {path} in {seconds:.1f} s")
    return GeneratedDump(path, done, sum_n, path.stat().st_size, raw_bytes, seconds)
