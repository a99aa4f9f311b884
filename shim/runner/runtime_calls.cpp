// The calls of the shim's runtime, served on the calling thread's task: threads
// coming and going, the process's exit, its output, sleeps and futexes. Socket calls
// go to serve_net (net_calls.cpp).
#include <fmt/format.h>
#include <linux/futex.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cerrno>

#include "runner.hpp"
#include "serve.hpp"

namespace netsim::shim {
namespace {

// Futex queues are simulation-wide; a private futex is named by its process and
// address (user addresses fit in 47 bits). A shared one (a semaphore in shared memory)
// by its address alone: processes share such memory through fork, at the same address.
std::uint64_t futex_key(const Process& process, std::int64_t address, bool shared) {
  if (shared) return static_cast<std::uint64_t>(address);
  return (static_cast<std::uint64_t>(process.pid()) << 48) ^ static_cast<std::uint64_t>(address);
}

bool has_live_thread(const RemoteProcess& remote) {
  for (const Task* task : remote.threads)
    if (task) return true;
  return false;
}

}  // namespace

long Runner::serve_call(RemoteProcess& remote, int index, Task& self, Slot& slot,
                        std::vector<pollfd>& poll_list, bool& last) {
  Kernel& kernel = simulation_.kernel();
  long result = 0;
  if (serve_net(kernel, self, slot, poll_list, result)) return result;
  Process& process = *remote.process;
  const auto* args = slot.args;
  switch (slot.call) {
    case kCallStart:
      if (index == 0) remote.region->started = 1;
      else remote.tids[index] = static_cast<pid_t>(args[0]);
      return 0;
    case kCallThreadCreate: {
      // A slot is free once its task has ended and its thread has read the last reply
      // (the shim then sets it idle): a new thread must not take that reply for its own.
      const auto free = [&](int i) {
        return !remote.threads[i] && holds(remote.region->slots[i].state.load(std::memory_order_acquire),
                                           SlotState::idle);
      };
      int i = 1;
      while (i < static_cast<int>(remote.threads.size()) && !free(i)) ++i;
      if (i == kMaxThreads) {
        kernel.emit_output(self, 2,
                           fmt::format("netsim: {} (pid {}) cannot start another thread: {} threads at once is "
                                       "simrun's limit per process\n",
                                       process.name(), process.pid(), kMaxThreads));
        return -EAGAIN;
      }
      slot.args[1] = add_thread(remote, i, false).tid();
      return i;
    }
    case kCallThreadAbandon: {
      const auto i = static_cast<std::size_t>(args[0]);
      if (i == 0 || i >= remote.threads.size() || !remote.threads[i]) return -EINVAL;
      kernel.scheduler().cancel(*remote.threads[i]);
      remote.threads[i] = nullptr;
      return 0;
    }
    case kCallThreadExit:
      last = true;
      remote.threads[index] = nullptr;
      // The last thread's end is the process's, as on Linux.
      if (!has_live_thread(remote)) end(remote, 0, 0);
      return 0;
    case kCallExit:
      last = true;
      end(remote, static_cast<int>(args[0] & 0xff), 0);
      return 0;
    case kCallUnsupported: {
      const std::string_view what(reinterpret_cast<const char*>(slot.buffer),
                                  slot.size ? slot.size - 1 : 0);
      // Said once per run, on simrun's stderr: the program's own output (its error
      // message, if it prints one) is what the transcript shows.
      const std::string note = fmt::format("{}: {} (the call failed with ENOSYS)", process.name(), what);
      if (std::find(unsupported_.begin(), unsupported_.end(), note) == unsupported_.end())
        unsupported_.push_back(note);
      return -ENOSYS;
    }
    case SYS_write:
      return kernel.write_output(self, static_cast<int>(args[0]),
                                 {reinterpret_cast<const char*>(slot.buffer), slot.size});
    case SYS_nanosleep:
      return kernel.sleep(self, args[0]);
    case SYS_futex: {
      const std::uint64_t key = futex_key(process, args[0], args[3] != 0);
      if (args[1] == FUTEX_WAKE) return kernel.futex_wake(self, key, static_cast<int>(args[2]));
      return kernel.futex_wait(self, key, args[2] < 0 ? std::nullopt : std::optional<Nanos>(args[2]),
                               "futex");
    }
    default:
      // The rest are process_calls.cpp's: take_request() lets no other call through.
      serve_process(remote, index, self, slot, result);
      return result;
  }
}

}  // namespace netsim::shim
