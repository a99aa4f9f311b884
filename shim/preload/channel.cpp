// The calling thread's side of the channel (channel.hpp): one round trip per call.
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include <cerrno>

#include "shim.hpp"

namespace netsim::shim {
namespace {

Region* g_region = nullptr;
int g_region_index = -1;
int g_pool_fd = -1;
// Static TLS (see CMakeLists.txt): safe to read from the SIGSYS handler.
thread_local Slot* t_slot = nullptr;

}  // namespace

Region& region() { return *g_region; }
int region_index() { return g_region_index; }
int pool_fd() { return g_pool_fd; }
void set_pool_fd(int fd) { g_pool_fd = fd; }

bool map_region(int index) {
  if (index < 0 || index >= kMaxProcesses) return false;
  const long mapping = raw(SYS_mmap, 0, kRegionStride, PROT_READ | PROT_WRITE, MAP_SHARED, g_pool_fd,
                           region_offset(index));
  if (mapping < 0 && mapping > -4096) return false;
  if (g_region) raw(SYS_munmap, reinterpret_cast<long>(g_region), kRegionStride);
  g_region = reinterpret_cast<Region*>(mapping);
  g_region_index = index;
  return true;
}
Slot* my_slot() { return t_slot; }
void set_my_slot(Slot* slot) { t_slot = slot; }

long forward(Slot& slot) {
  // The simulator shares the futex from another process: no FUTEX_PRIVATE_FLAG.
  post(slot.state, SlotState::request,
       [](auto* word) { raw(SYS_futex, reinterpret_cast<long>(word), FUTEX_WAKE, 1); });
  sleep_until(
      slot.state, [](std::uint32_t state) { return holds(state, SlotState::reply); },
      [&](std::uint32_t expected) {
        raw(SYS_futex, reinterpret_cast<long>(&slot.state), FUTEX_WAIT, expected, 0);
        return true;
      });
  const long result = slot.result;
  if (const int signal = static_cast<int>(slot.signal)) {
    slot.signal = 0;
    // Raised on this very thread, now that the slot is free again: its handler runs
    // before this returns, at the same point of the program on every run, and may
    // itself make calls (Python's writes to its wakeup fd).
    raw(SYS_tgkill, raw(SYS_getpid), raw(SYS_gettid), signal);
  }
  return result;
}

void set_call(Slot& slot, long call, long a0, long a1, long a2, long a3, long a4, long a5) {
  slot.call = call;
  slot.args[0] = a0;
  slot.args[1] = a1;
  slot.args[2] = a2;
  slot.args[3] = a3;
  slot.args[4] = a4;
  slot.args[5] = a5;
  slot.size = 0;
}

long forward(long call, long a0, long a1, long a2, long a3, long a4, long a5) {
  Slot& slot = *my_slot();
  set_call(slot, call, a0, a1, a2, a3, a4, a5);
  return forward(slot);
}

long unsupported(const char* what) {
  Slot* slot = my_slot();
  if (!slot) return -ENOSYS;
  const std::size_t size = strnlen(what, kSlotBuffer - 1);
  memcpy(slot->buffer, what, size);
  slot->buffer[size] = 0;
  slot->call = kCallUnsupported;
  slot->size = size + 1;
  forward(*slot);
  return -ENOSYS;
}

}  // namespace netsim::shim
