"""``python -m controller``: patch gevent first, then run the controller."""

from gevent import monkey

monkey.patch_all()

import gevent  # noqa: E402

# Every call spawns greenlets; recording each one's spawning stack (a debugging aid, on by
# default) costs CPU per spawn and leaves frame copies for the GC to walk.
gevent.config.track_greenlet_tree = False

from controller.main import main  # noqa: E402

if __name__ == "__main__":
    main()
