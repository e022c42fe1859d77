import sys

from clvlab.cli import main

sys.exit(main())
