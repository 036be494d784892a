"""``python -m switchsim``: gevent is patched before anything else is imported."""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

from switchsim.cli import main  # noqa: E402

sys.exit(main())
