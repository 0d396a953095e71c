"""`python -m service.cli`, as the local stack and the tests run it."""

from service.cli import main

main()
