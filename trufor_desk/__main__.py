import sys

from trufor_desk.cli import main

sys.exit(main())
