// Virtual time. Clock reads are answered from the region with no round trip; libc
// reads most clocks through the vDSO without a system call, so the vDSO's entry
// points are patched to jump here. Sleeps are forwarded (SYS_nanosleep, args[0] =
// nanoseconds) and cost no wall time.
#include <elf.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>

#include <cerrno>
#include <cstdint>

#include "netsim/clock.hpp"
#include "shim.hpp"

namespace netsim::shim {
namespace {

constexpr long long kNanosPerSecond = 1'000'000'000;

bool is_wall_clock(long clock) {
  return clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE || clock == CLOCK_TAI ||
         clock == CLOCK_REALTIME_ALARM;
}

bool is_cpu_clock(long clock) {
  // Negative ids are the CPU clocks of a given process or thread (clock_getcpuclockid).
  return clock == CLOCK_PROCESS_CPUTIME_ID || clock == CLOCK_THREAD_CPUTIME_ID || clock < 0;
}

// Every other clock reads virtual time too: monotonic and boot time since the host's
// boot, CPU time since the simulation started (a program that measures itself).
long long clock_ns(long clock) {
  if (is_wall_clock(clock)) return now_realtime_ns();
  return is_cpu_clock(clock) ? region().elapsed.load(std::memory_order_relaxed)
                             : region().monotonic.load(std::memory_order_relaxed);
}

long long to_ns(const struct timespec& ts) { return ts.tv_sec * kNanosPerSecond + ts.tv_nsec; }

// The vDSO's calling convention: 0 or -errno.
int vdso_clock_gettime(clockid_t clock, struct timespec* ts) {
  const long long ns = clock_ns(clock);
  ts->tv_sec = ns / kNanosPerSecond;
  ts->tv_nsec = ns % kNanosPerSecond;
  return 0;
}

int vdso_gettimeofday(struct timeval* tv, void* /*timezone*/) {
  if (tv) {
    const long long ns = now_realtime_ns();
    tv->tv_sec = ns / kNanosPerSecond;
    tv->tv_usec = (ns % kNanosPerSecond) / 1000;
  }
  return 0;
}

time_t vdso_time(time_t* out) {
  const time_t now = now_realtime_ns() / kNanosPerSecond;
  if (out) *out = now;
  return now;
}

long sleep_ns(long long ns) {
  if (ns <= 0) return 0;
  return forward(SYS_nanosleep, ns);
}

// Overwrites the start of a vDSO function with a jump to `target`.
void redirect(void* function, void* target) {
  const auto page = reinterpret_cast<std::uintptr_t>(function) & ~std::uintptr_t{4095};
  unsigned char jump[arch::kJumpSize];
  arch::write_jump(jump, target);
  if (raw(SYS_mprotect, page, 8192, PROT_READ | PROT_WRITE | PROT_EXEC) != 0) return;
  memcpy(function, jump, sizeof jump);
  raw(SYS_mprotect, page, 8192, PROT_READ | PROT_EXEC);
}

}  // namespace

long long now_realtime_ns() { return region().wall.load(std::memory_order_relaxed); }
long long now_monotonic_ns() { return clock_ns(CLOCK_MONOTONIC); }

void patch_vdso() {
  const auto base = getauxval(AT_SYSINFO_EHDR);
  if (!base) return;
  const auto* elf = reinterpret_cast<const Elf64_Ehdr*>(base);
  const auto* phdrs = reinterpret_cast<const Elf64_Phdr*>(base + elf->e_phoff);
  // Symbol values are link-time addresses; the load bias maps them to this mapping.
  std::uintptr_t bias = base;
  for (int i = 0; i < elf->e_phnum; ++i)
    if (phdrs[i].p_type == PT_LOAD) {
      bias = base - phdrs[i].p_vaddr + phdrs[i].p_offset;
      break;
    }
  const auto* sections = reinterpret_cast<const Elf64_Shdr*>(base + elf->e_shoff);
  for (int i = 0; i < elf->e_shnum; ++i) {
    if (sections[i].sh_type != SHT_DYNSYM) continue;
    const auto* symbols = reinterpret_cast<const Elf64_Sym*>(base + sections[i].sh_offset);
    const char* names = reinterpret_cast<const char*>(base + sections[sections[i].sh_link].sh_offset);
    const std::size_t count = sections[i].sh_size / sizeof(Elf64_Sym);
    for (std::size_t s = 0; s < count; ++s) {
      const char* name = names + symbols[s].st_name;
      void* target = nullptr;
      if (!strcmp(name, "__vdso_clock_gettime")) target = reinterpret_cast<void*>(&vdso_clock_gettime);
      if (!strcmp(name, "__vdso_gettimeofday")) target = reinterpret_cast<void*>(&vdso_gettimeofday);
      if (!strcmp(name, "__vdso_time")) target = reinterpret_cast<void*>(&vdso_time);
      if (target) redirect(reinterpret_cast<void*>(bias + symbols[s].st_value), target);
    }
  }
}

bool time_call(long nr, const long* a, long& r) {
  switch (nr) {
    case SYS_clock_gettime:
      r = vdso_clock_gettime(static_cast<clockid_t>(a[0]), reinterpret_cast<struct timespec*>(a[1]));
      return true;
    case SYS_gettimeofday:
      r = vdso_gettimeofday(reinterpret_cast<struct timeval*>(a[0]), nullptr);
      return true;
    case SYS_time:
      r = vdso_time(reinterpret_cast<time_t*>(a[0]));
      return true;
    case SYS_nanosleep:
    case SYS_clock_nanosleep: {
      if (!my_slot()) return false;
      const bool absolute = nr == SYS_clock_nanosleep && (a[1] & TIMER_ABSTIME);
      const auto* request = reinterpret_cast<const struct timespec*>(nr == SYS_nanosleep ? a[0] : a[2]);
      auto* remaining = reinterpret_cast<struct timespec*>(nr == SYS_nanosleep ? a[1] : a[3]);
      const long long ns = absolute ? to_ns(*request) - clock_ns(a[0]) : to_ns(*request);
      r = sleep_ns(ns);
      // Interrupted by a stop signal: the whole sleep is left, as far as anyone asks.
      if (r == -EINTR && remaining && !absolute) *remaining = *request;
      return true;
    }
    default:
      return false;
  }
}

}  // namespace netsim::shim
