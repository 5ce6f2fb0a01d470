"""``python -m bulkhead``: the same as the ``bulkhead`` console script."""

from bulkhead.cli import main

main()
