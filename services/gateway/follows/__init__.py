"""What a gateway knows of follows: the cached follow sets of its viewers, and the go-live alerts
of the followers connected to it."""
