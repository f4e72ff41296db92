"""What one ingest did (`IngestSummary`), and which of its models no price card prices."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from costkit.pricing.book import PriceBook
from costkit.pricing.sql import register_prices


@dataclass
class IngestSummary:
    """What one ingest did. read = inserted + duplicates + conflicts + rejected, always:
    each term is counted on its own (rows written, repeats matched, records set aside) and
    the sum is checked before the run commits."""

    ingest_id: int
    read: int = 0
    inserted: int = 0
    duplicates: int = 0  # the same request again (same id, same values): not stored twice
    conflicts: int = 0  # the same id with other values: set aside in rejects, not stored
    rejected: int = 0
    skipped: int = 0  # lines that are no record: SSE control lines, [DONE], stream deltas
    skipped_records: int = 0  # items of whole-file sources that are no request (OTel spans
    #                           without GenAI usage, or summing the usage spans below them)
    files: int = 0
    seconds: float = 0.0
    unpriced: dict[str, int] = field(default_factory=dict)  # model -> requests inserted
    search_unknown: int = 0  # inserted requests that enabled web search but report no count
    repeated_paths: list[str] = field(default_factory=list)  # named a file already read
    unread: list[tuple[str, str]] = field(default_factory=list)  # (path, why): not read

    def as_dict(self) -> dict:
        return asdict(self)


def unpriced_models(con, book: PriceBook, ingest_id: int) -> dict[str, int]:
    """Models of this ingest's rows that no card prices at their time: model -> requests."""
    register_prices(con, book)
    rows = con.execute("""
        SELECT model, sum(request_count)::BIGINT FROM costed_usage
        WHERE ingest_id = ? AND card_id IS NULL
        GROUP BY model ORDER BY model
    """, [ingest_id]).fetchall()
    return {model: n for model, n in rows}
