"""Follows: the rooms service's `follows` and `anchors` collections, and the go-live alerts."""
