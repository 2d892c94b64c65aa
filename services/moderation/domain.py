"""Moderation rules with no I/O: what a content-detection report leads to."""

from __future__ import annotations

import enum

from shared.contracts import CaseStatus, DetectionReported, Suggestion


class Verdict(enum.StrEnum):
    BAN = "ban"  # automatic ban
    REVIEW = "review"  # an open case for a human
    RECORD = "record"  # kept for the record only


def judge(report: DetectionReported, *, ban_score: float) -> Verdict:
    """`Block`, or a score at or over `ban_score`, bans; `Review` asks a human; `Pass` is recorded.

    Tencent notes its detection is below 100 % accurate, so only a clear signal bans on its own.
    """
    if report.suggestion is Suggestion.BLOCK or (report.score is not None and report.score >= ban_score):
        return Verdict.BAN
    if report.suggestion is Suggestion.REVIEW or report.suggestion is None:
        return Verdict.REVIEW
    return Verdict.RECORD


CASE_STATUS = {Verdict.BAN: CaseStatus.BANNED, Verdict.REVIEW: CaseStatus.OPEN, Verdict.RECORD: CaseStatus.RECORDED}


def detection_reason(report: DetectionReported) -> str:
    what = report.label or ("porn" if 1 in report.types else "suspect content")
    score = f", score {report.score:g}" if report.score is not None else ""
    return f"content detection: {what}{score}"
