"""``python -m controller``: patch gevent first, then run the controller."""

from gevent import monkey

monkey.patch_all()

from controller.main import main  # noqa: E402

if __name__ == "__main__":
    main()
