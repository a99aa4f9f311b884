// The standard output and error: what a process writes there becomes transcript lines,
// ordered with everything else it does. Forwarded as SYS_write with args[0] = stream
// (1 or 2) and the bytes in the buffer. Descriptors dup'ed from them write there too;
// reads of stdin and everything else on these descriptors are made for real.
#include <fcntl.h>
#include <string.h>
#include <sys/uio.h>

#include <cerrno>

#include "shim.hpp"

namespace netsim::shim {
namespace {

// The stream each low descriptor writes to: 0 for none.
unsigned char g_stream[kLoaderFds] = {0, 1, 2};

int stream_of(long fd) { return fd >= 0 && fd < kLoaderFds ? g_stream[fd] : 0; }

void set_stream(long fd, int stream) {
  if (fd >= 0 && fd < kLoaderFds) g_stream[fd] = static_cast<unsigned char>(stream);
}

// Sends the iovecs' bytes, a buffer-full per round trip.
long write_out(int stream, const struct iovec* iov, long count) {
  Slot& slot = *my_slot();
  long total = 0;
  std::size_t used = 0;
  auto flush = [&] {
    if (used == 0) return;
    slot.call = SYS_write;
    slot.args[0] = stream;
    slot.size = used;
    forward(slot);
    used = 0;
  };
  for (long i = 0; i < count; ++i) {
    const auto* bytes = static_cast<const unsigned char*>(iov[i].iov_base);
    std::size_t left = iov[i].iov_len;
    while (left > 0) {
      const std::size_t n = left < kSlotBuffer - used ? left : kSlotBuffer - used;
      memcpy(slot.buffer + used, bytes, n);
      used += n;
      bytes += n;
      left -= n;
      total += static_cast<long>(n);
      if (used == kSlotBuffer) flush();
    }
  }
  flush();
  return total;
}

}  // namespace

bool output_call(long nr, const long* a, long& r) {
  const int stream = stream_of(a[0]);
  switch (nr) {
    case SYS_write: {
      if (!stream) return false;
      const struct iovec one = {reinterpret_cast<void*>(a[1]), static_cast<std::size_t>(a[2])};
      r = write_out(stream, &one, 1);
      return true;
    }
    case SYS_writev:
      if (!stream) return false;
      r = write_out(stream, reinterpret_cast<const struct iovec*>(a[1]), a[2]);
      return true;
    // The descriptor table changes for real; the stream follows the descriptor.
    case SYS_close:
      r = raw(SYS_close, a[0]);
      if (r == 0) set_stream(a[0], 0);
      return true;
    case SYS_dup:
      r = raw(SYS_dup, a[0]);
      if (r >= 0) set_stream(r, stream);
      return true;
    case SYS_dup2:
    case SYS_dup3:
      r = raw(nr, a[0], a[1], a[2]);
      if (r >= 0) set_stream(r, stream);
      return true;
    case SYS_fcntl:
      if (a[1] != F_DUPFD && a[1] != F_DUPFD_CLOEXEC) return false;
      r = raw(SYS_fcntl, a[0], a[1], a[2]);
      if (r >= 0) set_stream(r, stream);
      return true;
    default:
      return false;
  }
}

}  // namespace netsim::shim
