// The shim's only system call instruction. The seccomp filter lets through exactly
// the calls whose return address is the label after it, so everything else the
// process does (libc's internal calls, raw syscall()) traps into the shim.
#include "shim.hpp"

// System V arguments: nr in rdi, a0..a5 in rsi, rdx, rcx, r8, r9, stack; the kernel
// wants nr in rax and a0..a5 in rdi, rsi, rdx, r10, r8, r9.
asm(R"(
  .text
  .globl netsim_raw_syscall
  .type netsim_raw_syscall, @function
netsim_raw_syscall:
  movq %rdi, %rax
  movq %rsi, %rdi
  movq %rdx, %rsi
  movq %rcx, %rdx
  movq %r8, %r10
  movq %r9, %r8
  movq 8(%rsp), %r9
  syscall
  .globl netsim_raw_syscall_return
netsim_raw_syscall_return:
  ret
  .size netsim_raw_syscall, .-netsim_raw_syscall
)");
