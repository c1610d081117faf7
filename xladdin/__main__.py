"""``python -m xladdin COMMAND ...``: the command line (:func:`xladdin.ops.cli.main`), the same program as the
``xladdin`` console script."""
import sys

from xladdin.ops.cli import main

if __name__ == "__main__":
    sys.exit(main())
