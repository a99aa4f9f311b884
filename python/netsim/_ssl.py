"""TLS over simulated sockets: ``SSLContext.wrap_socket`` given a simulated socket
returns a :class:`SimSSLSocket`; any other socket gets the real ``ssl.SSLSocket``.

OpenSSL cannot talk to a simulated descriptor, so the TLS engine is an
``ssl.SSLObject`` over memory BIOs and this module moves its records through the
simulated socket, blocking, timing out or raising ``SSLWantReadError`` as the
socket's timeout says, as CPython's ``_ssl`` module does for a real socket. The
rest of ``ssl.SSLSocket`` (``recv``, ``sendall``, ``makefile``, ``unwrap``,
``accept``...) is CPython's own code running over that object.

Records are read from the socket one at a time, header then body, as OpenSSL reads
them without read-ahead: ciphertext not yet needed stays in the simulated socket,
so ``select`` and ``pending()`` mean what they mean on a real TLS socket, and data
sent in the clear after ``unwrap()`` is still there to be read.
"""

from __future__ import annotations

import errno
import math
import ssl as _ssl_module

from netsim import _core, _portable
from netsim._socket import SimSocket

_POLLIN, _POLLOUT = 0x001, 0x004
_RECORD_HEADER = 5  # content type, version, 16-bit length: the same in every TLS version

_real_wrap_socket = _ssl_module.SSLContext.wrap_socket
# X509_V_ERR_CERT_NOT_YET_VALID and X509_V_ERR_CERT_HAS_EXPIRED.
_CERTIFICATE_DATE_CODES = (9, 10)


def _certificate_date_note() -> str:
    """Why a certificate's dates were refused in a task: OpenSSL, inside this
    process, reads the real clock, not the simulation's."""
    # The real date stays out: the transcript must not depend on the day it is made.
    return (f"netsim: in-process, OpenSSL checks a certificate's dates against the real clock, "
            f"not the simulation's ({_portable.shown_date(_core.time_ns())}): use a certificate "
            f"valid today, or run the programs under simrun, whose OpenSSL reads the virtual clock "
            f"(--epoch)")


def _want_write() -> _ssl_module.SSLWantWriteError:
    error = _ssl_module.SSLWantWriteError(_ssl_module.SSL_ERROR_WANT_WRITE, "The operation did not complete (write)")
    # _ssl sets these on every SSLError it raises; handlers read them.
    error.library = error.reason = None
    return error


class _SocketSSLObject(_ssl_module.SSLObject):
    """An SSLObject whose I/O methods finish their work over a simulated socket,
    standing where ``SSLSocket._sslobj`` holds _ssl's C object for a real socket."""

    @classmethod
    def _over(cls, sock: SimSSLSocket) -> _SocketSSLObject:
        incoming, outgoing = _ssl_module.MemoryBIO(), _ssl_module.MemoryBIO()
        self = cls._create(incoming, outgoing, server_side=sock.server_side,
                           server_hostname=sock.server_hostname, session=sock._session, context=sock._context)
        self._socket = sock
        self._incoming, self._outgoing = incoming, outgoing
        self._unsent = bytearray()
        self._header = bytearray()  # the incoming record's header, while incomplete
        self._body_left = 0  # bytes of the incoming record's body not yet read
        return self

    # -- the calls SSLSocket makes on its _sslobj that move data

    def do_handshake(self) -> None:
        try:
            self._complete(super().do_handshake, "handshake")
        except _ssl_module.SSLCertVerificationError as e:
            if e.verify_code in _CERTIFICATE_DATE_CODES:
                e.add_note(_certificate_date_note())
            raise

    def read(self, len=1024, buffer=None):
        if buffer is None:
            return self._complete(super().read, "read", len)
        return self._complete(super().read, "read", len, buffer)

    def write(self, data) -> int:
        # Records encrypted earlier and still unsent go first, as OpenSSL retries
        # a pending write before taking new data.
        if not self._send_unsent(self._deadline(), "write"):
            raise _want_write()
        return self._complete(super().write, "write", data)

    def shutdown(self):
        """Sends close_notify and waits for the peer's; returns the socket, which
        then carries data in the clear (``SSLSocket.unwrap``)."""
        self._complete(super().unwrap, None)
        return self._socket

    # -- moving records

    def _deadline(self) -> int | None:
        timeout = self._socket.gettimeout()
        return None if timeout is None else _core.monotonic_ns() + math.ceil(timeout * 1e9)

    def _complete(self, operation, what, *args):
        """Runs an operation of the TLS engine until it needs no more input, like
        one call of _ssl's socket object: each timeout covers the whole operation."""
        deadline = self._deadline()
        while True:
            # The socket calls stay out of the except clauses: a kernel call that
            # fails while an exception is being handled loses its errno (see
            # raise_errno in python/src/calls.cpp).
            failure = None
            try:
                result = operation(*args)
            except _ssl_module.SSLWantReadError as e:
                want_read = e
            except _ssl_module.SSLError as e:
                failure = e
            else:
                # Encrypted data is the caller's no longer: what a non-blocking
                # socket cannot take now leaves with the next operation.
                self._send_unsent(deadline, what or "write")
                return result
            if failure is not None:
                # The alert goes out before the error is raised, as with a real
                # socket; if the peer is gone, the TLS error is the news.
                try:
                    self._send_unsent(deadline, what or "write")
                except OSError:
                    pass
                raise failure
            # The peer cannot answer what it has not received.
            if not self._send_unsent(deadline, what or "write"):
                raise _want_write()
            if not self._receive(deadline, what or "read"):
                raise want_read

    def _send_unsent(self, deadline: int | None, what: str) -> bool:
        """Sends what the engine produced; False if the non-blocking socket is full."""
        self._unsent += self._outgoing.read()
        fd = self._socket.fileno()
        while self._unsent:
            try:
                del self._unsent[:_core.send(fd, self._unsent, 0)]
                continue
            except BlockingIOError:
                pass
            if not self._wait(_POLLOUT, deadline, what):
                return False
        return True

    def _receive(self, deadline: int | None, what: str) -> bool:
        """Reads (part of) the next record into the engine, or the end of the
        stream; False if the non-blocking socket has nothing."""
        wanted = self._body_left or _RECORD_HEADER - len(self._header)
        buffer = bytearray(wanted)
        while True:
            try:
                n = _core.recv_into(self._socket.fileno(), buffer, wanted, 0)[0]
                break
            except BlockingIOError:
                pass
            if not self._wait(_POLLIN, deadline, what):
                return False
        if n == 0:
            self._incoming.write_eof()
            return True
        data = buffer[:n]
        self._incoming.write(data)
        if self._body_left:
            self._body_left -= n
        else:
            self._header += data
            if len(self._header) == _RECORD_HEADER:
                self._body_left = int.from_bytes(self._header[3:5], "big")
                self._header.clear()
        return True

    def _wait(self, events: int, deadline: int | None, what: str) -> bool:
        if self._socket.gettimeout() == 0.0:
            return False
        left = deadline - _core.monotonic_ns()
        if left <= 0 or not _core.poll([(self._socket.fileno(), events)], left):
            raise TimeoutError(f"The {what} operation timed out")
        return True


class SimSSLSocket(_ssl_module.SSLSocket, SimSocket):
    """A TLS socket over a simulated socket: ``ssl.SSLSocket``'s API, with the
    simulated socket's descriptor and timeouts (see the module docstring)."""

    # A program printing its socket must see what it would see on Linux.
    __module__ = "ssl"
    __qualname__ = "SSLSocket"

    @classmethod
    def _create(cls, sock, server_side=False, do_handshake_on_connect=True, suppress_ragged_eofs=True,
                server_hostname=None, context=None, session=None):
        # CPython's SSLSocket._create, with the TLS engine of this module.
        if sock.type != _ssl_module.SOCK_STREAM:
            raise NotImplementedError("only stream sockets are supported")
        if server_side:
            if server_hostname:
                raise ValueError("server_hostname can only be specified in client mode")
            if session is not None:
                raise ValueError("session can only be specified in client mode")
        if context.check_hostname and not server_hostname:
            raise ValueError("check_hostname requires server_hostname")
        timeout = sock.gettimeout()
        self = cls.__new__(cls)
        SimSocket.__init__(self, sock.family, sock.type, sock.proto, fileno=sock.detach())
        self.settimeout(timeout)
        self._context = context
        self._session = session
        self._closed = False
        self._sslobj = None
        self.server_side = server_side
        self.server_hostname = context._encode_hostname(server_hostname)
        self.do_handshake_on_connect = do_handshake_on_connect
        self.suppress_ragged_eofs = suppress_ragged_eofs
        try:
            self.getpeername()
            self._connected = True
        except OSError as e:
            if e.errno != errno.ENOTCONN:
                raise
            self._connected = False
        if self._connected:
            try:
                self._sslobj = _SocketSSLObject._over(self)
                if do_handshake_on_connect:
                    if timeout == 0.0:
                        raise ValueError("do_handshake_on_connect should not be specified for non-blocking sockets")
                    self.do_handshake()
            except (OSError, ValueError):
                self.close()
                raise
        return self

    def _real_connect(self, addr, connect_ex):
        # CPython's, with the TLS engine of this module.
        if self.server_side:
            raise ValueError("can't connect in server-side mode")
        if self._connected or self._sslobj is not None:
            raise ValueError("attempt to connect already-connected SSLSocket!")
        self._sslobj = _SocketSSLObject._over(self)
        try:
            if connect_ex:
                rc = SimSocket.connect_ex(self, addr)
            else:
                rc = None
                SimSocket.connect(self, addr)
            if not rc:
                self._connected = True
                if self.do_handshake_on_connect:
                    self.do_handshake()
            return rc
        except (OSError, ValueError):
            self._sslobj = None
            raise


def _wrap_socket(self, sock, server_side=False, do_handshake_on_connect=True, suppress_ragged_eofs=True,
                 server_hostname=None, session=None):
    if not isinstance(sock, SimSocket):
        return _real_wrap_socket(self, sock, server_side, do_handshake_on_connect, suppress_ragged_eofs,
                                 server_hostname, session)
    return SimSSLSocket._create(sock, server_side, do_handshake_on_connect, suppress_ragged_eofs,
                                server_hostname, self, session)


_wrap_socket.__name__ = _wrap_socket.__qualname__ = "wrap_socket"
_wrap_socket.__doc__ = _real_wrap_socket.__doc__


def patches():
    """(object, attribute, replacement) for netsim._patch."""
    return [(_ssl_module.SSLContext, "wrap_socket", _wrap_socket)]
