import sys

from storydiff.cli import main

sys.exit(main())
