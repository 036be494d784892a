"""``python -m switchsim``: gevent is patched before anything else is imported."""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

import gevent  # noqa: E402

# Each call spawns several greenlets; recording their spawning stacks (a debugging aid, on
# by default) costs CPU per spawn.
gevent.config.track_greenlet_tree = False

from switchsim.cli import main  # noqa: E402

sys.exit(main())
