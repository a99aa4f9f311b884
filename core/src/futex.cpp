// Futexes: wait queues named by a key, on which user-space locks and conditions
// block. Only one task runs at a time and it is switched away only at kernel calls,
// so a caller's check of its lock word and its futex_wait cannot be separated: the
// compare that Linux's FUTEX_WAIT makes on the word is the caller's own.
#include <cerrno>

#include "netsim/kernel.hpp"

namespace netsim {

long Kernel::futex_wait(Task& self, std::uint64_t key, std::optional<Nanos> timeout,
                        const char* what) {
  // Not begin_call(): its scheduling point would fall between the caller's check and
  // the wait, and a wake sent meanwhile would be lost. Nor its cost: see futex_wake.
  if (timeout && *timeout <= 0) return -ETIMEDOUT;
  // A key exists while somebody waits on it, so the table stays as small as the
  // number of contended words, whichever way the wait ends (a stop throws).
  struct Forget {
    std::map<std::uint64_t, WaitQueue>& table;
    std::uint64_t key;
    ~Forget() {
      const auto it = table.find(key);
      if (it != table.end() && it->second.empty()) table.erase(it);
    }
  } forget{futexes_, key};
  WaitQueue* queue = &futexes_[key];
  const std::optional<Nanos> deadline =
      timeout ? std::optional<Nanos>(clock_.elapsed() + *timeout) : std::nullopt;
  if (scheduler_.block(self, Wait{what}, {&queue, 1}, deadline)) return 0;
  // A stopping task cannot block again: it must not take that for a timeout.
  return self.cancel_requested() ? -EINTR : -ETIMEDOUT;
}

// Futex calls cost no virtual time, and a wake that finds nobody is no scheduling
// point: how many a program makes is the business of its locks' fast paths (CPython's
// GIL makes more or fewer with the size of its environment), which must not move the
// clock or the schedule. A wake that wakes somebody is a scheduling point.
long Kernel::futex_wake(Task& self, std::uint64_t key, int count) {
  const auto it = futexes_.find(key);
  if (it == futexes_.end()) return 0;
  long woken = 0;
  while (woken < count && it->second.notify_one()) ++woken;
  if (it->second.empty()) futexes_.erase(it);
  scheduler_.yield_point(self);
  return woken;
}

}  // namespace netsim
