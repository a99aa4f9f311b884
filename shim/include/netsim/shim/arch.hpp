#pragma once
// Everything the shim and its runner know about the processor, in one place: the
// rest of shim/ (and nothing in core/ or python/) names no register, instruction or
// audit architecture. A port to another architecture fills this file and arch.cpp's
// assembly (shim/preload) in.
#if !defined(__x86_64__)
#error "simrun's shim is x86-64 only: build with -DNETSIM_SHIM=OFF"
#endif

#include <linux/audit.h>
#include <ucontext.h>

#include <cstdint>
#include <cstring>

namespace netsim::shim::arch {

// The architecture the seccomp filter admits: any other (32-bit or x32 calls) would
// bypass its checks by their numbers.
inline constexpr unsigned kAuditArch = AUDIT_ARCH_X86_64;
// System call numbers with this bit set are x32's.
inline constexpr unsigned kX32Bit = 0x40000000;

// The system call instruction (`syscall`, then `ret`): the gate's page holds it. The
// address the filter sees is the one after the instruction.
inline constexpr unsigned char kGateCode[] = {0x0f, 0x05, 0xc3};
// Where the gate lives: a fixed address in every image (raw_syscall.cpp says why),
// spelled as a macro too for arch.cpp's assembly.
#define NETSIM_GATE_ADDRESS 0x7f0000000000
inline constexpr unsigned long kGateAddress = NETSIM_GATE_ADDRESS;
inline constexpr unsigned long kSyscallSize = 2;

// The registers of a trapped system call, in a SIGSYS handler's context.
inline void syscall_args(const ucontext_t& context, long out[6]) {
  const greg_t* regs = context.uc_mcontext.gregs;
  const long args[6] = {regs[REG_RDI], regs[REG_RSI], regs[REG_RDX], regs[REG_R10], regs[REG_R8], regs[REG_R9]};
  std::memcpy(out, args, sizeof args);
}
inline void set_syscall_result(ucontext_t& context, long result) { context.uc_mcontext.gregs[REG_RAX] = result; }
inline long syscall_result(const ucontext_t& context) { return context.uc_mcontext.gregs[REG_RAX]; }
// A forked child given a stack of its own (clone's second argument) starts on it.
inline void set_stack(ucontext_t& context, long stack) { context.uc_mcontext.gregs[REG_RSP] = stack; }

// An absolute jump to `target` written over a function's first bytes (the vDSO's
// clocks): `movabs $target, %rax; jmp *%rax`.
inline constexpr unsigned long kJumpSize = 12;
inline void write_jump(unsigned char out[kJumpSize], void* target) {
  const unsigned char code[kJumpSize] = {0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xe0};
  std::memcpy(out, code, sizeof code);
  std::memcpy(out + 2, &target, sizeof target);
}

}  // namespace netsim::shim::arch
