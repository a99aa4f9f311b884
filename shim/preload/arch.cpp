// The shim's assembly (arch.hpp is the rest of what it knows of the processor).
#include "netsim/shim/arch.hpp"

#define NETSIM_STRING(x) NETSIM_STRING_(x)
#define NETSIM_STRING_(x) #x

// netsim_raw_syscall(nr, a0..a5): System V arguments (nr in rdi, a0..a5 in rsi, rdx,
// rcx, r8, r9, stack) moved where the kernel wants them (nr in rax, a0..a5 in rdi,
// rsi, rdx, r10, r8, r9), then a jump to the gate's syscall. r11 is the kernel's to
// clobber anyway; the gate's ret returns to netsim_raw_syscall's caller. Hidden: a
// program cannot look it up (dlsym, ctypes).
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
  movabsq $)" NETSIM_STRING(NETSIM_GATE_ADDRESS) R"(, %r11
  jmp *%r11
  .size netsim_raw_syscall, .-netsim_raw_syscall
)");

// The SIGSYS handler's return: rt_sigreturn (15), which the filter lets through from
// anywhere.
asm(R"(
  .text
  .globl netsim_restore_rt
  .hidden netsim_restore_rt
  .type netsim_restore_rt, @function
netsim_restore_rt:
  movq $15, %rax
  syscall
  .size netsim_restore_rt, .-netsim_restore_rt
)");
