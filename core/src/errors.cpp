#include "netsim/errors.hpp"

#include <cerrno>
#include <string>

#include <fmt/format.h>

namespace netsim {
namespace {

struct ErrnoInfo {
  int value;
  const char* name;
  const char* message;  // glibc's strerror() text
};

// The errors the simulated kernel can produce. Kept here rather than read from the
// host's strerror() so that messages never depend on the machine.
constexpr ErrnoInfo kErrnos[] = {
    {EPERM, "EPERM", "Operation not permitted"},
    {ENOENT, "ENOENT", "No such file or directory"},
    {EINTR, "EINTR", "Interrupted system call"},
    {EBADF, "EBADF", "Bad file descriptor"},
    {EAGAIN, "EAGAIN", "Resource temporarily unavailable"},
    {ENOMEM, "ENOMEM", "Cannot allocate memory"},
    {EACCES, "EACCES", "Permission denied"},
    {EFAULT, "EFAULT", "Bad address"},
    {EINVAL, "EINVAL", "Invalid argument"},
    {EMFILE, "EMFILE", "Too many open files"},
    {EPIPE, "EPIPE", "Broken pipe"},
    {ENOSYS, "ENOSYS", "Function not implemented"},
    {ENOTSOCK, "ENOTSOCK", "Socket operation on non-socket"},
    {EDESTADDRREQ, "EDESTADDRREQ", "Destination address required"},
    {EMSGSIZE, "EMSGSIZE", "Message too long"},
    {EPROTOTYPE, "EPROTOTYPE", "Protocol wrong type for socket"},
    {ENOPROTOOPT, "ENOPROTOOPT", "Protocol not available"},
    {EPROTONOSUPPORT, "EPROTONOSUPPORT", "Protocol not supported"},
    {ESOCKTNOSUPPORT, "ESOCKTNOSUPPORT", "Socket type not supported"},
    {EOPNOTSUPP, "EOPNOTSUPP", "Operation not supported"},
    {EAFNOSUPPORT, "EAFNOSUPPORT", "Address family not supported by protocol"},
    {EADDRINUSE, "EADDRINUSE", "Address already in use"},
    {EADDRNOTAVAIL, "EADDRNOTAVAIL", "Cannot assign requested address"},
    {ENETUNREACH, "ENETUNREACH", "Network is unreachable"},
    {ECONNABORTED, "ECONNABORTED", "Software caused connection abort"},
    {ECONNRESET, "ECONNRESET", "Connection reset by peer"},
    {ENOBUFS, "ENOBUFS", "No buffer space available"},
    {EISCONN, "EISCONN", "Transport endpoint is already connected"},
    {ENOTCONN, "ENOTCONN", "Transport endpoint is not connected"},
    {ETIMEDOUT, "ETIMEDOUT", "Connection timed out"},
    {ECONNREFUSED, "ECONNREFUSED", "Connection refused"},
    {EHOSTUNREACH, "EHOSTUNREACH", "No route to host"},
    {EALREADY, "EALREADY", "Operation already in progress"},
    {EINPROGRESS, "EINPROGRESS", "Operation now in progress"},
};

const ErrnoInfo* find(int err) {
  for (const auto& info : kErrnos)
    if (info.value == err) return &info;
  return nullptr;
}

}  // namespace

const char* errno_name(int err) {
  const ErrnoInfo* info = find(err);
  return info ? info->name : "E?";
}

const char* errno_message(int err) {
  const ErrnoInfo* info = find(err);
  return info ? info->message : "Unknown error";
}

Error::Error(int err, const std::string& call)
    : std::runtime_error(
          fmt::format("{}: [Errno {}] {} ({})", call, err, errno_message(err), errno_name(err))),
      err_(err) {}

}  // namespace netsim
