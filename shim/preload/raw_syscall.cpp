// The shim's only system call instruction. Its entry point is hidden: a program cannot
// look it up (dlsym, ctypes), and one that jumps to the fixed address still meets the
// run's namespaces, which hold no network and no process outside the run. The seccomp filter lets through exactly
// the calls whose return address is the one after it, so everything else the process
// does (libc's internal calls, raw syscall()) traps into the shim. It lives on a page
// of its own at a fixed address, mapped by every image: the filter outlives an exec,
// and the next image's shim must pass it too, wherever the loader puts the library.
#include <string.h>
#include <sys/mman.h>

#include "shim.hpp"

// System V arguments: nr in rdi, a0..a5 in rsi, rdx, rcx, r8, r9, stack; the kernel
// wants nr in rax and a0..a5 in rdi, rsi, rdx, r10, r8, r9. r11 is the kernel's to
// clobber anyway; the gate's ret returns to netsim_raw_syscall's caller.
asm(R"(
  .text
  .globl netsim_raw_syscall
  .hidden netsim_raw_syscall
  .type netsim_raw_syscall, @function
netsim_raw_syscall:
  movq %rdi, %rax
  movq %rsi, %rdi
  movq %rdx, %rsi
  movq %rcx, %rdx
  movq %r8, %r10
  movq %r9, %r8
  movq 8(%rsp), %r9
  movabsq $0x7f0000000000, %r11
  jmp *%r11
  .size netsim_raw_syscall, .-netsim_raw_syscall
)");

namespace netsim::shim {

bool map_gate() {
  void* page = mmap(reinterpret_cast<void*>(kGateAddress), 4096, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (page != reinterpret_cast<void*>(kGateAddress)) return false;
  const unsigned char code[] = {0x0f, 0x05, 0xc3};  // syscall; ret
  memcpy(page, code, sizeof code);
  return mprotect(page, 4096, PROT_READ | PROT_EXEC) == 0;
}

}  // namespace netsim::shim
