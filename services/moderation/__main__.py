"""`python -m services.moderation`: for now it only starts, connects to the bus and logs."""

from shared.runtime import run_connected_idle, run_service

if __name__ == "__main__":
    run_service(lambda: run_connected_idle("moderation"))
