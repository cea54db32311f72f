import gzip
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from clickstream_assets.clickstream.parsing import (
    ClickstreamFormatError,
    convert_clickstream,
    scan_bad_lines,
)

SAMPLES = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "wikimedia" / "clickstream"
)
HEAD_2018 = SAMPLES / "clickstream-enwiki-2018-10-head.tsv.gz"
RANDOM_2024 = SAMPLES / "clickstream-enwiki-2024-10-random-sample.tsv.gz"

needs_samples = pytest.mark.skipif(not SAMPLES.exists(), reason="real samples in ../shared absent")

GOOD = [
    "other-search\tZürich\texternal\t120",
    "Zürich\tBern\tlink\t40",
    'Zürich\t"Weird",_title\tother\t15',
]


def write_dump(path: Path, lines: list[str], trailing_newline: bool = True) -> Path:
    text = "\n".join(lines) + ("\n" if trailing_newline else "")
    path.write_bytes(gzip.compress(text.encode("utf-8")))
    return path


def independent_rows(path: Path) -> list[tuple[str, str, str, int]]:
    with gzip.open(path, "rt", encoding="utf-8", newline="\n") as lines:
        return [
            (prev, curr, kind, int(n))
            for prev, curr, kind, n in (line.rstrip("\n").split("\t") for line in lines)
        ]


@needs_samples
def test_convert_real_head_counts_match_the_dump(tmp_path):
    dest = tmp_path / "out.parquet"

    result = convert_clickstream(HEAD_2018, dest)

    table = pq.read_table(dest)
    assert result.rows == table.num_rows == 20_000
    assert Counter(table.column("type").to_pylist()) == {
        "link": 12_304,
        "external": 7_029,
        "other": 667,
    }
    assert result.sum_n == 6_800_989
    assert min(table.column("n").to_pylist()) == 10
    assert result.bad_lines == 0


@needs_samples
@pytest.mark.parametrize("sample", [HEAD_2018, RANDOM_2024], ids=["head-2018", "random-2024"])
def test_convert_real_sample_keeps_titles_byte_for_byte(tmp_path, sample):
    dest = tmp_path / "out.parquet"

    convert_clickstream(sample, dest)

    table = pq.read_table(dest)
    got = list(
        zip(*(table.column(c).to_pylist() for c in ("prev", "curr", "type", "n")), strict=True)
    )
    expected = independent_rows(sample)
    assert got == expected
    assert any('"' in row[1] or "," in row[1] for row in expected)
    assert any(not row[1].isascii() for row in expected)


def test_convert_typed_schema_and_zstd(tmp_path):
    source = write_dump(tmp_path / "d.tsv.gz", GOOD)
    dest = tmp_path / "out.parquet"

    convert_clickstream(source, dest)

    parquet = pq.ParquetFile(dest)
    assert [str(t) for t in parquet.schema_arrow.types] == ["string", "string", "string", "int64"]
    assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"
    assert pq.read_table(dest).column("curr").to_pylist() == ["Zürich", "Bern", '"Weird",_title']


def test_convert_last_line_without_newline(tmp_path):
    source = write_dump(tmp_path / "d.tsv.gz", GOOD, trailing_newline=False)

    result = convert_clickstream(source, tmp_path / "out.parquet")

    assert result.rows == 3
    assert result.sum_n == 175


BAD_CASES = {
    "too-few-fields": ("Zürich\tBern\tlink", "expected 4 tab-separated fields, found 3"),
    "too-many-fields": ("Zürich\tBern\tlink\t10\tx", "expected 4 tab-separated fields, found 5"),
    "non-integer-n": ("Zürich\tBern\tlink\tten", "n must be a non-negative integer, found 'ten'"),
    "negative-n": ("Zürich\tBern\tlink\t-12", "n must not be negative, found -12"),
    "unknown-type": ("Zürich\tBern\tredirect\t10", "type must be one of link, external, other"),
    "referrer-as-curr": ("Zürich\tother-search\tlink\t10", "curr must be an article"),
    "blank-line": ("", "expected 4 tab-separated fields, found 1"),
}


@pytest.mark.parametrize("case", list(BAD_CASES), ids=list(BAD_CASES))
def test_convert_malformed_line_fails_with_line_and_reason(tmp_path, case):
    bad, reason = BAD_CASES[case]
    source = write_dump(tmp_path / "d.tsv.gz", [*GOOD[:2], bad, GOOD[2]])
    dest = tmp_path / "out.parquet"

    with pytest.raises(ClickstreamFormatError) as error:
        convert_clickstream(source, dest)

    message = str(error.value)
    assert str(source) in message
    assert "line 3:" in message
    assert reason in message
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == [source]


def test_convert_within_allowance_quarantines_bad_lines(tmp_path):
    lines = [GOOD[0], "Zürich\tBern\tlink\t-1", GOOD[1], "broken", GOOD[2]]
    source = write_dump(tmp_path / "d.tsv.gz", lines)
    quarantine = tmp_path / "q" / "bad_lines.tsv"

    result = convert_clickstream(
        source, tmp_path / "out.parquet", max_bad_lines=2, quarantine=quarantine
    )

    assert result.rows == 3
    assert result.bad_lines == 2
    assert quarantine.read_text(encoding="utf-8").splitlines() == [
        "line_number\treason\tline",
        "2\tn must not be negative, found -1\tZürich\tBern\tlink\t-1",
        "4\texpected 4 tab-separated fields, found 1\tbroken",
    ]
    assert pq.read_table(tmp_path / "out.parquet").column("n").to_pylist() == [120, 40, 15]


def test_convert_beyond_allowance_fails_and_keeps_existing_parquet(tmp_path):
    dest = tmp_path / "out.parquet"
    convert_clickstream(write_dump(tmp_path / "good.tsv.gz", GOOD), dest)
    before = dest.read_bytes()
    bad = write_dump(tmp_path / "bad.tsv.gz", ["a\tb\tlink\tx", "a\tc\tlink\ty", *GOOD])

    with pytest.raises(ClickstreamFormatError, match="more than 1 malformed lines"):
        convert_clickstream(bad, dest, max_bad_lines=1)

    assert dest.read_bytes() == before


def test_convert_truncated_gzip_fails_cleanly(tmp_path):
    full = gzip.compress(("\n".join(GOOD * 2000) + "\n").encode())
    source = tmp_path / "d.tsv.gz"
    source.write_bytes(full[: len(full) // 2])
    dest = tmp_path / "out.parquet"

    with pytest.raises(ClickstreamFormatError, match="the gzip stream ends early"):
        convert_clickstream(source, dest)

    assert not dest.exists()
    assert list(tmp_path.iterdir()) == [source]


def test_convert_non_gzip_input_fails_cleanly(tmp_path):
    source = tmp_path / "d.tsv.gz"
    source.write_bytes(b"<html><body>Service unavailable</body></html>")

    with pytest.raises(ClickstreamFormatError, match="cannot be read as a gzip TSV dump"):
        convert_clickstream(source, tmp_path / "out.parquet")

    assert list(tmp_path.iterdir()) == [source]


def test_scan_bad_lines_counts_physical_lines(tmp_path):
    source = write_dump(tmp_path / "d.tsv.gz", [GOOD[0], "", GOOD[1], "x\ty\tlink\t1.5"])

    bad = list(scan_bad_lines(source))

    assert [(b.line_number, b.text) for b in bad] == [(2, ""), (4, "x\ty\tlink\t1.5")]
