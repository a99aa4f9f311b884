"""What the ``simrun`` launcher (python/launcher/simrun.cpp) runs, as
``python -I -S .../netsim/_launch.py ARGS``: without ``site``, whose .pth files
would cost every run, and isolated (-I: neither the environment's PYTHON* variables
nor this file's directory on sys.path, where netsim's _socket.py and _ssl.py would
shadow the standard library's). netsim needs only the standard library and
itself: the directory holding the package goes first on sys.path."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from netsim._simrun_command import main  # noqa: E402  (needs the path above)

# --explore's forkserver imports the main module again (as __mp_main__).
if __name__ == "__main__":
    sys.exit(main())
