"""`python -m bot` and the `initiative-bot` command."""

import gc
import sys

# Starting builds the loaded data at once: hundreds of thousands of objects that live as long
# as the process. Collecting garbage meanwhile only walks them again and again (a fifth of the
# start), so collection is off until the services are built (bot.services.keep_for_good).
gc.disable()

from bot.cli import main  # noqa: E402


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
