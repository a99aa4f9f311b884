#include "interrupt_watcher.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <system_error>

#include "python_task.hpp"

namespace netsim::python {

InterruptWatcher::InterruptWatcher(int wakeup_fd, Simulation& sim)
    : wakeup_fd_(wakeup_fd), sim_(sim) {
  if (wakeup_fd_ < 0) return;
  done_fd_ = eventfd(0, EFD_CLOEXEC);
  if (done_fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  thread_ = std::thread([this] { watch(); });
}

InterruptWatcher::~InterruptWatcher() {
  if (!thread_.joinable()) return;
  const std::uint64_t one = 1;
  while (write(done_fd_, &one, sizeof one) < 0 && errno == EINTR) {
  }
  thread_.join();
  close(done_fd_);
}

void InterruptWatcher::watch() {
  pollfd fds[2] = {{wakeup_fd_, POLLIN, 0}, {done_fd_, POLLIN, 0}};
  for (;;) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    // Python writes one byte per signal, its number; other signals are not ours.
    unsigned char signals[64];
    const ssize_t n = read(wakeup_fd_, signals, sizeof signals);
    if (n <= 0) {
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      return;  // the package closed its end: nothing more will come
    }
    for (ssize_t i = 0; i < n; ++i)
      if (signals[i] == SIGINT) fire();
  }
}

void InterruptWatcher::fire() {
  fired_.store(true);
  sim_.stop();
  pybind11::gil_scoped_acquire gil;
  raise_in_tasks(sim_.kernel(), task_cancelled_type().ptr());
}

}  // namespace netsim::python
