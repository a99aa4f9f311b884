"""Simulated sockets for Python code running in a simulated task.

``socket.socket(...)`` called on a task's thread returns a :class:`SimSocket`, a
subclass of ``socket.socket`` (so ``isinstance`` checks and ``makefile`` keep
working) whose calls go to netsim's kernel. Anywhere else, ``socket.socket`` is the
real one. ``fileno()`` is the simulated descriptor: the simulated process's lowest
free number, so it is the same on every run whatever files the host process has
open. The C socket object underneath holds a real placeholder (an unbound AF_UNIX
socket) that can reach no network.

Timeouts follow CPython: with a timeout the kernel socket is non-blocking and each
call waits in ``poll`` for at most the time left.

Name lookups (``gethostbyname``, ``gethostbyaddr``, ``getnameinfo``...) answer from
the simulation's hosts, never from the real resolver.
"""

from __future__ import annotations

import _socket
import errno
import ipaddress
import os
import socket as _socket_module

from netsim import _core
from netsim._dispatch import in_tasks

_real_socket = _socket_module.socket
_real_unlinks = {"unlink": os.unlink, "remove": os.remove}
_NO_FLAGS = ~(_socket_module.SOCK_NONBLOCK | _socket_module.SOCK_CLOEXEC)
_POLLIN, _POLLOUT = 0x001, 0x004
_AF_INET, _AF_INET6, _AF_UNIX = _socket_module.AF_INET, _socket_module.AF_INET6, _socket_module.AF_UNIX
_SOL_SOCKET = _socket_module.SOL_SOCKET


def _placeholder() -> int:
    # CPython checks that a socket object's descriptor is a socket. An unbound
    # AF_UNIX datagram socket is one that cannot reach any network, even through a
    # call this module would fail to intercept.
    return _c_socket(_socket.AF_UNIX, _socket.SOCK_DGRAM | _socket.SOCK_CLOEXEC).detach()


def _ip_for(family: int, host) -> str:
    """A literal address of ``family`` for a host name or address, as getaddrinfo would."""
    if isinstance(host, bytes):
        host = host.decode("idna")
    if host in ("", None):
        return "0.0.0.0" if family == _AF_INET else "::"
    if host == "<broadcast>":
        return "255.255.255.255"
    want_v6 = family == _AF_INET6
    addresses = _resolve(host)
    for address in addresses:
        if (":" in address) == want_v6:
            return address
    if want_v6:  # an IPv4 name for an IPv6 socket: its v4-mapped form
        return "::ffff:" + addresses[0]
    raise _socket_module.gaierror(_socket_module.EAI_NONAME, "Name or service not known")


def _split(family: int, address) -> tuple[str, int]:
    if family not in (_AF_INET, _AF_INET6):
        raise OSError(errno.EAFNOSUPPORT, os.strerror(errno.EAFNOSUPPORT))
    if not isinstance(address, tuple) or len(address) < 2:
        kind = "AF_INET" if family == _AF_INET else "AF_INET6"
        raise TypeError(f"{kind} address must be tuple, not {type(address).__name__}")
    return _ip_for(family, address[0]), int(address[1])


def _python_address(family: int, pair: tuple[str, int]):
    return pair if family == _AF_INET else (pair[0], pair[1], 0, 0)


def _unix_name(address) -> bytes:
    """sun_path's bytes for a Unix-domain address (a path, or a NUL and an abstract name)."""
    if isinstance(address, str):
        return os.fsencode(address)
    if isinstance(address, (bytes, bytearray, memoryview)):
        return bytes(address)
    raise TypeError(f"a bytes-like object is required, not '{type(address).__name__}'")


def _unix_address(name: bytes):
    """A Unix-domain name as CPython gives it: an abstract one as bytes, a path as str."""
    return name if name[:1] == b"\0" else os.fsdecode(name)


class SimSocket(_real_socket):
    """A socket on netsim's virtual network (see the module docstring)."""

    __slots__ = ("_fd",)
    # A program printing its socket must see what it would see on Linux.
    __module__ = "socket"
    __qualname__ = "socket"

    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
        """``fileno`` names an existing simulated descriptor (from accept, dup or
        detach), whose family, type and protocol are then asked of the kernel
        where not given, as CPython asks Linux."""
        if fileno is None:
            family = _AF_INET if family == -1 else int(family)
            type = _socket_module.SOCK_STREAM if type == -1 else int(type)
            proto = 0 if proto == -1 else int(proto)
            self._fd = _core.socket(family, type, proto, -1)
        else:
            self._fd = int(fileno)
            if family == -1:
                family = _core.getsockopt(self._fd, _SOL_SOCKET, _socket_module.SO_DOMAIN)
            if type == -1:
                type = _core.getsockopt(self._fd, _SOL_SOCKET, _socket_module.SO_TYPE)
            if proto == -1:
                proto = _core.getsockopt(self._fd, _SOL_SOCKET, _socket_module.SO_PROTOCOL)
        super().__init__(family, type, proto, _placeholder())
        self._sync_blocking()

    def fileno(self) -> int:
        return -1 if _c_socket.fileno(self) == -1 else self._fd

    # -- blocking mode: the kernel socket is non-blocking whenever a timeout is set

    def _sync_blocking(self) -> None:
        _core.set_nonblocking(self.fileno(), self.gettimeout() is not None)

    def settimeout(self, value) -> None:
        super().settimeout(value)
        self._sync_blocking()

    def setblocking(self, flag: bool) -> None:
        super().setblocking(flag)
        self._sync_blocking()

    def _retry(self, events: int, call, *args):
        """Makes a call as CPython does for the socket's timeout: blocking (the kernel
        waits), non-blocking (EAGAIN is the answer), or with a timeout (wait in poll
        for the time left, then TimeoutError)."""
        timeout = self.gettimeout()
        if not timeout:
            return call(*args)
        deadline = _core.monotonic_ns() + round(timeout * 1e9)
        while True:
            try:
                return call(*args)
            except BlockingIOError:
                pass
            # Outside the except clause, so a TimeoutError carries no chained context.
            left = deadline - _core.monotonic_ns()
            if left <= 0 or not _core.poll([(self.fileno(), events)], left):
                raise TimeoutError("timed out")

    # -- set-up

    def bind(self, address) -> None:
        if self.family == _AF_UNIX:
            _core.bind_unix(self.fileno(), _unix_name(address))
        else:
            _core.bind(self.fileno(), *_split(self.family, address))

    def listen(self, backlog: int = min(_socket_module.SOMAXCONN, 128)) -> None:
        _core.listen(self.fileno(), backlog)

    def _accept(self):
        if self.family == _AF_UNIX:
            fd, peer = self._retry(_POLLIN, _core.accept_unix, self.fileno(), 0, -1)
            return fd, _unix_address(peer)
        fd, peer = self._retry(_POLLIN, _core.accept, self.fileno(), 0, -1)
        return fd, _python_address(self.family, tuple(peer))

    def accept(self):
        fd, address = self._accept()
        conn = SimSocket(self.family, self.type & _NO_FLAGS, self.proto, fileno=fd)
        if _socket_module.getdefaulttimeout() is None and self.gettimeout():
            conn.setblocking(True)
        return conn, address

    def connect(self, address) -> None:
        timeout = self.gettimeout()
        try:
            if self.family == _AF_UNIX:
                _core.connect_unix(self.fileno(), _unix_name(address))
            else:
                _core.connect(self.fileno(), *_split(self.family, address))
            return
        except BlockingIOError as e:
            if e.errno != errno.EINPROGRESS or timeout == 0.0:
                raise
        if not _core.poll([(self.fileno(), _POLLOUT)], int(timeout * 1e9)):
            raise TimeoutError("timed out")
        err = _core.getsockopt(self.fileno(), _socket_module.SOL_SOCKET, _socket_module.SO_ERROR)
        if err:
            raise OSError(err, os.strerror(err))

    def connect_ex(self, address) -> int:
        try:
            self.connect(address)
        except OSError as e:
            if isinstance(e, _socket_module.gaierror):
                raise
            return e.errno or 0
        return 0

    # -- data

    def send(self, data, flags: int = 0) -> int:
        return self._retry(_POLLOUT, _core.send, self.fileno(), data, flags)

    def sendall(self, data, flags: int = 0) -> None:
        view = memoryview(data).cast("B")
        while view:
            view = view[self.send(view, flags):]

    def sendto(self, data, flags_or_address, address=None) -> int:
        flags, address = (0, flags_or_address) if address is None else (flags_or_address, address)
        host, port = _split(self.family, address)
        return self._retry(_POLLOUT, _core.sendto, self.fileno(), data, flags, host, port)

    def recv_into(self, buffer, nbytes: int = 0, flags: int = 0) -> int:
        return self._retry(_POLLIN, _core.recv_into, self.fileno(), buffer, nbytes, flags)[0]

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        return self._retry(_POLLIN, _core.recv, self.fileno(), bufsize, flags)

    def recvfrom_into(self, buffer, nbytes: int = 0, flags: int = 0):
        n, peer = self._retry(_POLLIN, _core.recv_into, self.fileno(), buffer, nbytes, flags)
        return n, _python_address(self.family, tuple(peer))

    def recvfrom(self, bufsize: int, flags: int = 0):
        buffer = bytearray(bufsize)
        n, peer = self.recvfrom_into(buffer, bufsize, flags)
        return bytes(buffer[:n]), peer

    # -- state

    def shutdown(self, how: int) -> None:
        _core.shutdown(self.fileno(), how)

    def getsockname(self):
        if self.family == _AF_UNIX:
            return _unix_address(_core.name_unix(self.fileno(), False))
        return _python_address(self.family, tuple(_core.getsockname(self.fileno())))

    def getpeername(self):
        if self.family == _AF_UNIX:
            return _unix_address(_core.name_unix(self.fileno(), True))
        return _python_address(self.family, tuple(_core.getpeername(self.fileno())))

    def setsockopt(self, level: int, optname: int, value, optlen=None) -> None:
        if isinstance(value, (bytes, bytearray)):
            value = int.from_bytes(value[:4].ljust(4, b"\0"), "little")
        _core.setsockopt(self.fileno(), level, optname, int(value or 0))

    def getsockopt(self, level: int, optname: int, buflen: int | None = None):
        value = _core.getsockopt(self.fileno(), level, optname)
        if buflen is None:
            return value
        return value.to_bytes(4, "little", signed=True).ljust(buflen, b"\0")[:buflen]

    def dup(self):
        fd = _core.dup(self.fileno(), -1)
        return SimSocket(self.family, self.type & _NO_FLAGS, self.proto, fileno=fd)

    def detach(self) -> int:
        """Closes the object but not the simulated descriptor, and returns it for
        ``socket.socket(fileno=...)`` in the same process (as ssl.wrap_socket does)."""
        fd = self.fileno()
        placeholder = super().detach()
        if placeholder >= 0:
            os.close(placeholder)
        return fd

    def _real_close(self, _ss=_socket.socket):
        fd = self.fileno()
        if fd >= 0 and _core.in_task():
            _core.close(fd)
        _ss.close(self)

    def __del__(self, _ss=_socket.socket):
        # A socket dropped without close() is finalized when the garbage collector
        # gets to it: at a moment no seed decides, perhaps in another task or
        # simulation. CPython's finalizer would warn with repr(), which asks the
        # kernel for the addresses, so it must not run: only the placeholder is
        # closed, and the simulated descriptor stays open until its process ends.
        if _ss.fileno(self) != -1:
            _ss.close(self)

    def sendmsg(self, *args, **kwargs):
        raise OSError(errno.EOPNOTSUPP, "netsim does not simulate socket.sendmsg() yet")

    def recvmsg(self, *args, **kwargs):
        raise OSError(errno.EOPNOTSUPP, "netsim does not simulate socket.recvmsg() yet")


def _new(cls, *args, **kwargs):
    if cls is _real_socket and _core.in_task():
        cls = SimSocket
    return _real_socket.__base__.__new__(cls, *args, **kwargs)


class _CSocketType(type):
    """Stands in for the C type ``_socket.socket`` while simulations run, so that a
    task that reaches past the ``socket`` module gets a simulated socket all the same
    (never a real one); the real type everywhere else. Instances and subclasses of the
    real type still pass isinstance and issubclass checks against it."""

    def __call__(cls, *args, **kwargs):
        return SimSocket(*args, **kwargs) if _core.in_task() else _c_socket(*args, **kwargs)

    def __instancecheck__(cls, instance) -> bool:
        return isinstance(instance, _c_socket)

    def __subclasscheck__(cls, subclass) -> bool:
        return issubclass(subclass, _c_socket)


_c_socket = _socket.socket
# The real type's methods and attributes, for code that calls them unbound (socket.py's
# own __init__ calls _socket.socket.__init__ at every construction).
_CSocket = _CSocketType("socket", (), {
    **{name: getattr(_c_socket, name) for name in dir(_c_socket) if not name.startswith("__")},
    "__init__": _c_socket.__init__, "__module__": "_socket", "__doc__": _c_socket.__doc__,
    # No instance dict or weak reference slot of its own, as the C type: a subclass
    # may add "__weakref__" (gevent's socket class does).
    "__slots__": ()})


def _socketpair(family=None, type=_socket_module.SOCK_STREAM, proto=0):
    """The kernel's socketpair(AF_UNIX): the pair simrun's programs get."""
    if family not in (None, _AF_UNIX):
        raise OSError(errno.EAFNOSUPPORT, os.strerror(errno.EAFNOSUPPORT))
    fds = _core.socketpair(int(type))
    return tuple(SimSocket(_AF_UNIX, type & _NO_FLAGS, proto, fileno=fd) for fd in fds)


# glibc's socket types of an answer (gaih_inet_typeproto), in its order: the type,
# its protocol and its /etc/services protocol; SOCK_RAW takes the caller's protocol
# and no named service.
_KINDS = ((_socket_module.SOCK_STREAM, 6, "tcp"), (_socket_module.SOCK_DGRAM, 17, "udp"),
          (_socket_module.SOCK_RAW, 0, None))


def _service_kinds(port, type, proto) -> list[tuple[int, int, int]]:
    """(type, protocol, port) of each entry per address, as glibc's gaih_inet() makes
    them (the shim's service_kinds() for simrun)."""
    kinds = [kind for kind in _KINDS if type in (0, kind[0]) and (proto in (0, kind[1]) or kind[2] is None)]
    if type or proto:  # the first that matches, alone
        if not kinds:
            raise _socket_module.gaierror(*(_EAI_SOCKTYPE if type else _EAI_SERVICE))
        kind, protocol, service_protocol = kinds[0]
        if service_protocol is None and port is not None:
            raise _socket_module.gaierror(*_EAI_SERVICE)
        kinds = [(kind, protocol if service_protocol else proto, service_protocol)]
    if isinstance(port, bytes):
        port = port.decode()
    if not isinstance(port, str) or port.isdigit():
        return [(kind, protocol, int(port or 0) & 0xFFFF) for kind, protocol, _ in kinds]
    named = []
    for kind, protocol, service_protocol in kinds:
        if service_protocol is None:  # SOCK_RAW has no named services
            continue
        try:
            named.append((kind, protocol, _socket_module.getservbyname(port, service_protocol)))
        except OSError:  # not a service of this protocol
            pass
    if not named:
        raise _socket_module.gaierror(*_EAI_SERVICE)
    return named


def _getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    kinds = _service_kinds(port, type, proto)
    if host is None:
        candidates = ["::", "0.0.0.0"] if flags & _socket_module.AI_PASSIVE else ["::1", "127.0.0.1"]
    else:
        candidates = _resolve(_text(host))
    result = []
    for address in candidates:
        fam = _AF_INET6 if ":" in address else _AF_INET
        if family not in (0, fam):
            continue
        for kind, protocol, number in kinds:
            sockaddr = (address, number) if fam == _AF_INET else (address, number, 0, 0)
            result.append((_socket_module.AddressFamily(fam), _socket_module.SocketKind(kind),
                           protocol, "", sockaddr))
    if not result:
        raise _socket_module.gaierror(_socket_module.EAI_ADDRFAMILY, "Address family for hostname not supported")
    return result


# -- names. Every simulated machine's /etc/hosts says "localhost" for 127.0.0.1 and
# ::1; the other names are the simulation's hosts. socket.getfqdn() and
# http.server's server_bind() are built on these.

_LOOPBACK_NAMES = {"127.0.0.1": "localhost", "::1": "localhost"}


def _text(host) -> str:
    return host.decode("idna") if isinstance(host, (bytes, bytearray)) else host


def _literal(host: str) -> str | None:
    """The canonical form of an address literal; None for a name."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


# glibc's gai_strerror() of the errors a lookup gives.
_LOOKUP_ERRORS = {_socket_module.EAI_NONAME: "Name or service not known",
                  _socket_module.EAI_AGAIN: "Temporary failure in name resolution",
                  _socket_module.EAI_FAIL: "Non-recoverable failure in name resolution"}
_EAI_SOCKTYPE = (_socket_module.EAI_SOCKTYPE, "ai_socktype not supported")
_EAI_SERVICE = (_socket_module.EAI_SERVICE, "Servname not supported for ai_socktype")


def _resolve(host: str) -> list[str]:
    """The addresses of a name (or literal); gaierror as getaddrinfo fails: an unknown
    name, or a resolve_fail fault of the scenario. A literal is no lookup, as in libc."""
    error, addresses = (0, _core.resolve(host)) if _literal(host) is not None else _core.lookup(host)
    if not error and not addresses:
        error = _socket_module.EAI_NONAME
    if error:
        raise _socket_module.gaierror(error, _LOOKUP_ERRORS.get(error, "Name or service not known"))
    return addresses


def _gethostbyname(hostname) -> str:
    return _gethostbyname_ex(hostname)[2][0]


def _gethostbyname_ex(hostname):
    hostname = _text(hostname)
    ipv4 = [address for address in _resolve(hostname) if ":" not in address]
    if not ipv4:
        raise _socket_module.gaierror(_socket_module.EAI_NONAME, "Name or service not known")
    return _literal(hostname) or hostname, [], ipv4


def _gethostbyaddr(ip_address):
    host = _text(ip_address)
    literal = _literal(host)
    if literal is None:  # a name: the entry of its first address, which is this name
        return host, [], _resolve(host)[:1]
    if literal not in _LOOPBACK_NAMES:
        raise _socket_module.herror(1, "Unknown host")
    return _LOOPBACK_NAMES[literal], [], [literal]


def _getnameinfo(sockaddr, flags):
    if not isinstance(sockaddr, tuple):
        raise TypeError("getnameinfo() argument 1 must be a tuple")
    if not 2 <= len(sockaddr) <= 4:
        raise TypeError("getnameinfo(): illegal sockaddr argument")
    host, port = _text(sockaddr[0]), int(sockaddr[1])
    address = _literal(host)
    if address is None:  # getnameinfo() takes numeric addresses only
        raise _socket_module.gaierror(_socket_module.EAI_NONAME, "Name or service not known")
    name = None if flags & _socket_module.NI_NUMERICHOST else _LOOPBACK_NAMES.get(address)
    if name is None and flags & _socket_module.NI_NAMEREQD:
        raise _socket_module.gaierror(_socket_module.EAI_NONAME, "Name or service not known")
    service = str(port)
    if not flags & _socket_module.NI_NUMERICSERV:
        try:
            service = _socket_module.getservbyport(port, "udp" if flags & _socket_module.NI_DGRAM else "tcp")
        except OSError:
            pass
    return name or address, service


def _unlink(real):
    """os.unlink (or os.remove) of a path a simulated Unix socket was bound to, which
    exists only in the simulation (as under simrun); the real call for any other."""

    def unlink(path, *, dir_fd=None):
        if dir_fd is None and isinstance(path, (str, bytes, os.PathLike)):
            try:
                return _core.unlink_unix(os.fsencode(path))
            except FileNotFoundError:
                pass
        return real(path, dir_fd=dir_fd)

    return unlink


def patches():
    """(object, attribute, replacement) for netsim._patch."""
    simulated = {
        "socketpair": _socketpair,
        "getaddrinfo": _getaddrinfo,
        "gethostbyname": _gethostbyname,
        "gethostbyname_ex": _gethostbyname_ex,
        "gethostbyaddr": _gethostbyaddr,
        "getnameinfo": _getnameinfo,
    }
    unlinks = [(os, name, in_tasks(real, _unlink(real))) for name, real in _real_unlinks.items()]
    return unlinks + [(_real_socket, "__new__", _new), (_socket, "socket", _CSocket), (_socket, "SocketType", _CSocket)] + [
        (_socket_module, name, in_tasks(getattr(_socket_module, name), fn)) for name, fn in simulated.items()]
