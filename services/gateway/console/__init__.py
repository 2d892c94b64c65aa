"""The moderation console: its web page and the gateway routes that serve it."""
