#pragma once
// The calls a C++ task makes, as a fiber inside a simulated process. Shaped like the
// POSIX socket API, but failures throw netsim::Error carrying the errno.
#include <poll.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "netsim/address.hpp"
#include "netsim/clock.hpp"

namespace netsim {

class Kernel;
class Task;
class Sys;

using TaskFn = std::function<void(Sys&)>;

class Sys {
 public:
  Sys(Kernel& kernel, Task& task) : kernel_(kernel), task_(task) {}

  int socket(int domain, int type, int protocol = 0);
  void bind(int fd, const Address& address);
  void listen(int fd, int backlog);
  int accept(int fd, Address* peer = nullptr, int flags = 0);
  void connect(int fd, const Address& address);
  // A blocking stream send returns once every byte is in the peer's buffer; a
  // non-blocking one may return fewer.
  std::size_t send(int fd, std::string_view data, int flags = 0);
  std::size_t sendto(int fd, std::string_view data, const Address& to, int flags = 0);
  // At most max bytes; empty at end of stream.
  std::string recv(int fd, std::size_t max, int flags = 0);
  // Into the caller's buffer, as recv(2) does: the count read, 0 at end of stream.
  std::size_t recv_into(int fd, std::span<char> buffer, int flags = 0);
  std::string recvfrom(int fd, std::size_t max, Address* from, int flags = 0);
  void shutdown(int fd, int how);
  void close(int fd);
  int dup(int fd);
  Address getsockname(int fd);
  Address getpeername(int fd);
  void set_nonblocking(int fd, bool on = true);
  void setsockopt(int fd, int level, int name, int value);
  int getsockopt(int fd, int level, int name);
  // Number of ready descriptors; timeout nullopt waits forever.
  int poll(std::span<pollfd> fds, std::optional<Nanos> timeout);

  void sleep(Nanos duration);
  Nanos now() const;        // virtual wall clock (CLOCK_REALTIME)
  Nanos monotonic() const;  // virtual time since the simulation started
  std::vector<Ip> resolve(std::string_view name) const;

  // Writes line and a newline to the process's stdout.
  void print(std::string_view line);
  // Writes bytes as they are to stdout (1) or stderr (2).
  void write(int stream, std::string_view bytes);

  // Starts another task (thread) in this process; it is ready at once.
  int spawn_thread(std::string name, TaskFn body);

  Kernel& kernel() const { return kernel_; }
  Task& task() const { return task_; }

 private:
  Kernel& kernel_;
  Task& task_;
};

}  // namespace netsim
