"""Replays: the rooms service's second collection (one document per recorded push session)."""
