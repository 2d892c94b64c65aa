"""Moderation rules with no I/O: what a content-detection report leads to."""

from __future__ import annotations

import enum

from shared.contracts import CaseStatus, DetectionReported, LiveState, Room, RoomStatus, Suggestion


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


def admit(verdict: Verdict, room: Room | None, *, recent_auto_bans: int, budget: int) -> Verdict:
    """What a callback's verdict may do on its own. A detection callback is a hint, not an order:
    its signature (`md5(key + t)`) does not cover the body, so one leaked pair lets anyone post
    any verdict for any stream for ten minutes. So an automatic ban is kept for a room live now
    (an open room off air goes to a human; a closed or unknown one is recorded) and for at most
    `budget` a minute; past it, the report opens a case instead (and an alert says so)."""
    if verdict is not Verdict.BAN:
        return verdict
    if room is None or room.status is RoomStatus.CLOSED:
        return Verdict.RECORD  # nothing live to ban
    if room.status is not RoomStatus.ACTIVE or room.stream_state is not LiveState.LIVE:
        return Verdict.REVIEW
    return Verdict.BAN if recent_auto_bans < budget else Verdict.REVIEW


CASE_STATUS = {Verdict.BAN: CaseStatus.BANNED, Verdict.REVIEW: CaseStatus.OPEN, Verdict.RECORD: CaseStatus.RECORDED}


def detection_reason(report: DetectionReported) -> str:
    what = report.label or ("porn" if 1 in report.types else "suspect content")
    score = f", score {report.score:g}" if report.score is not None else ""
    return f"content detection: {what}{score}"
