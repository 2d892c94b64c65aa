"""`python -m services.gateway.devtoken USER [--admin]`: print a development JWT (with the configured
issuer and audience, if any)."""

import argparse

from services.gateway.http.auth import mint_token
from shared.settings import GatewaySettings

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("user")
    parser.add_argument("--admin", action="store_true")
    parser.add_argument("--ttl", type=int, default=24 * 3600)
    args = parser.parse_args()
    settings = GatewaySettings()
    print(mint_token(settings.jwt_secret.get_secret_value(), args.user, admin=args.admin, ttl_seconds=args.ttl,
                     issuer=settings.jwt_issuer, audience=settings.jwt_audience))
