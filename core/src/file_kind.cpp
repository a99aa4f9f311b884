// What a descriptor is, and the questions about it that read the kernel's state
// without acting (kernel.hpp): fstat's file type, lseek's refusal, FIONREAD and
// SIOCOUTQ. Linux answers them from the file's own operations (pipefifo_fops,
// socket_file_ops, eventfd_fops); so do these, from the descriptor's kind. The
// figures in the comments are a native run's (Linux 6.x, x86-64).
#include <sys/stat.h>

#include <cerrno>

#include "netsim/kernel.hpp"
#include "socket.hpp"
#include "transit.hpp"

namespace netsim {
namespace {

using FileKind = Kernel::FileKind;

FileKind kind_of(const Socket& socket) {
  if (socket.timerfd) return FileKind::timerfd;
  if (socket.eventfd) return FileKind::eventfd;
  if (socket.pipe) return FileKind::pipe;
  if (socket.unix_domain) return socket.stream ? FileKind::unix_stream : FileKind::unix_datagram;
  return socket.stream ? FileKind::tcp : FileKind::udp;
}

bool is_socket(FileKind kind) { return kind != FileKind::pipe && kind != FileKind::eventfd && kind != FileKind::timerfd; }

}  // namespace

long Kernel::file_kind(const Process& process, int fd) const {
  const auto it = process.fds_.find(fd);
  if (it == process.fds_.end()) return -EBADF;
  return static_cast<long>(kind_of(*it->second));
}

long Kernel::file_mode(const Process& process, int fd) const {
  const long kind = file_kind(process, fd);
  if (kind < 0) return kind;
  switch (static_cast<FileKind>(kind)) {
    case FileKind::pipe: return S_IFIFO | 0600;
    // anon_inode_getfile(): no file type bits at all.
    case FileKind::eventfd:
    case FileKind::timerfd: return 0600;
    default: return S_IFSOCK | 0777;
  }
}

long Kernel::seek(const Process& process, int fd) const {
  const long kind = file_kind(process, fd);
  if (kind < 0) return kind;
  // eventfd_fops and timerfd_fops have noop_llseek; pipes and sockets no_llseek.
  const auto k = static_cast<FileKind>(kind);
  return k == FileKind::eventfd || k == FileKind::timerfd ? 0 : -ESPIPE;
}

long Kernel::bytes_readable(const Process& process, int fd) const {
  const auto it = process.fds_.find(fd);
  if (it == process.fds_.end()) return -EBADF;
  const Socket& socket = *it->second;
  const FileKind kind = kind_of(socket);
  if (kind == FileKind::eventfd || kind == FileKind::timerfd) return -ENOTTY;
  if (socket.state == SockState::listening) return -EINVAL;
  // A pipe's two ends share one buffer: FIONREAD on the write end counts it too.
  if (kind == FileKind::pipe && socket.rd_shut && socket.peer) return static_cast<long>(socket.peer->rx.size());
  if (!socket.stream) return socket.datagrams.empty() ? 0 : static_cast<long>(socket.datagrams.front().data.size());
  return static_cast<long>(socket.rx.size());
}

long Kernel::bytes_unsent(const Process& process, int fd) const {
  const auto it = process.fds_.find(fd);
  if (it == process.fds_.end()) return -EBADF;
  const Socket& socket = *it->second;
  if (!is_socket(kind_of(socket))) return -ENOTTY;
  if (socket.state == SockState::listening) return -EINVAL;
  // TCP's unacknowledged bytes: those still crossing a link. Loopback and a perfect
  // link deliver at once (a native loopback connection reads 0 as soon as it is
  // acknowledged). Linux's Unix and UDP figures are buffer memory (768 for a 5-byte
  // message), which the simulation does not model: 0.
  std::size_t unsent = 0;
  if (socket.stream && socket.out)
    for (std::size_t i = 0; i < socket.out->queue.size(); ++i)
      if (const Segment& segment = socket.out->queue[i]; segment.kind == Segment::Kind::data)
        unsent += segment.bytes.size();
  return static_cast<long>(unsent);
}

}  // namespace netsim
