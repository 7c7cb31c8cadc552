#!/usr/bin/env python
"""Django's command-line utility for Aisle.

When DATABASE_URL / REDIS_URL are not set, the embedded PostgreSQL+pgvector and Redis under
$DATA_DIR are found (or started, under a lock) first, so every command uses the same servers.
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platform_core.settings")
    if os.environ.get("AISLE_SKIP_SERVICES") != "1" and not (
        len(sys.argv) > 1 and sys.argv[1] in ("embedded", "services", "help", "--help", "version")
    ):
        from platform_core.embedded import export_environment

        export_environment()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
