"""``python -m uniware.sandbox``: run the local Uniware sandbox standalone."""

from __future__ import annotations

import argparse
import sys

from uniware.sandbox.cli import configure_parser, run


def main() -> int:
    """Parse the sandbox options and serve."""
    parser = argparse.ArgumentParser(prog="python -m uniware.sandbox", description=__doc__)
    configure_parser(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
