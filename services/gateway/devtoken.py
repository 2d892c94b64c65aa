"""`python -m services.gateway.devtoken USER [--admin]`: print a development JWT."""

import argparse

from services.gateway.auth import mint_token
from shared.settings import GatewaySettings

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("user")
    parser.add_argument("--admin", action="store_true")
    parser.add_argument("--ttl", type=int, default=24 * 3600)
    args = parser.parse_args()
    secret = GatewaySettings().jwt_secret.get_secret_value()
    print(mint_token(secret, args.user, admin=args.admin, ttl_seconds=args.ttl))
