"""netsim: a deterministic network simulator.

Servers and clients talk over virtual sockets, in virtual time, scheduled by a
seeded scheduler: the same seed gives byte-identical output on every run.

    >>> import socket, netsim
    >>> def serve():
    ...     with socket.create_server(("127.0.0.1", 7)) as listener:
    ...         conn, _ = listener.accept()
    ...         conn.sendall(conn.recv(100))
    >>> def ask():
    ...     with socket.create_connection(("127.0.0.1", 7)) as sock:
    ...         sock.sendall(b"ping")
    ...         print("got", sock.recv(100))
    >>> sim = netsim.Simulation(seed=42)
    >>> sim.spawn("server", serve)
    1000
    >>> sim.spawn("client", ask)
    1001
    >>> print(sim.run(), end="")
    client: got b'ping'
"""

__all__ = ["__version__", "Simulation", "Result", "ProcessResult", "DeadlockError", "run_scripts",
           "run_commands", "explore", "verify", "HashSeedWarning"]


def __getattr__(name: str) -> object:
    """The API, imported on first use. ``netsim.run_commands`` (simrun's Python API)
    and ``netsim.explore`` and ``netsim.verify`` (its --explore and --verify):
    imported here, netsim.simrun would be in sys.modules before ``python -m
    netsim.simrun`` runs it, and runpy warns about that on every run. The rest: the
    simrun command imports this package before it can take SIGINT, so importing it
    must not load the extension module (see netsim._simrun_command)."""
    if name == "run_commands":
        from netsim.simrun import run_commands

        return run_commands
    if name in ("explore", "verify"):
        from netsim import exploration as module

        return getattr(module, name)
    if name == "HashSeedWarning":
        from netsim._portable import HashSeedWarning

        return HashSeedWarning
    if name == "__version__":
        from netsim._core import __version__

        return __version__
    if name in __all__:
        from netsim import simulation

        return getattr(simulation, name)
    raise AttributeError(f"module 'netsim' has no attribute {name!r}")


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext netsim``: adds the ``%netsim``/``%%netsim`` magics (see
    :mod:`netsim.ipython`). Imported here on demand so that ``import netsim`` does
    not import IPython."""
    from netsim.ipython import load_ipython_extension as load

    load(ipython)
