import sys

from shelfcam.cli import main

sys.exit(main())
