"""``python -m sandbox --port P --https-port Q --state-dir DIR``: run the fake tenant.

The first stdout line is one JSON object (`FakeTenant.ready_line`: graph_url, base_url,
authority, tenant_id, client_id, client_secret, ca_cert_path, cert_path, cert_thumbprint,
msi_endpoint, msi_header, home_url, outbox_url, …); sandbox/stack.py reads it. Then it serves
until SIGTERM or SIGINT and exits 0. Access logs go to stderr, after the ready line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

from sandbox.server import run_fake_tenant


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="HTTP port (0: any free port)")
    parser.add_argument("--https-port", type=int, default=0, help="HTTPS port (0: any free)")
    parser.add_argument("--state-dir", type=Path, default=Path("var/sandbox"))
    parser.add_argument("--page-size", type=int, default=3, help="items per Graph page")
    parser.add_argument(
        "--extra-reports", type=int, default=0, help="synthetic reports for the manager (bench)"
    )
    parser.add_argument(
        "--synthetic-users", type=int, default=0, help="a large synthetic tenant (bench)"
    )
    parser.add_argument(
        "--synthetic-joiners",
        type=int,
        default=0,
        help="how many synthetic users start within the next 7 days (bench)",
    )
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with run_fake_tenant(
        args.state_dir, port=args.port, https_port=args.https_port, page_size=args.page_size,
        extra_reports=args.extra_reports, synthetic_users=args.synthetic_users,
        synthetic_joiners=args.synthetic_joiners, access_log=True,
    ) as fake:  # fmt: skip
        sys.stdout.write(json.dumps(fake.ready_line()) + "\n")
        sys.stdout.flush()
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    asyncio.run(serve(parse_args(argv)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
