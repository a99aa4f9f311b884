#pragma once
// What a program file holds, as far as the shim's reach goes. LD_PRELOAD loads the
// shim into dynamically linked x86-64 programs only: a static one, or one of another
// architecture, would run outside the simulation altogether. Go's runtime makes its
// own system calls on threads and signal stacks of its own, past what the shim
// simulates. simrun (before a command starts) and the shim (before an exec) both
// refuse such programs rather than run them half-simulated. Header-only and free of
// the C++ library, for the shim's sake.
#include <elf.h>
#include <string.h>
#include <sys/types.h>

namespace netsim::shim {

enum class ProgramKind { runnable, static_binary, go_binary, foreign_binary };

// read_at(offset, buffer, size) returns how many bytes it read. A file that is not ELF
// (a script) is runnable: its interpreter is looked at when it is exec'ed.
template <typename ReadAt>
ProgramKind program_kind(ReadAt read_at) {
  Elf64_Ehdr header;
  if (read_at(0, &header, sizeof header) != static_cast<long>(sizeof header) ||
      memcmp(header.e_ident, ELFMAG, SELFMAG) != 0)
    return ProgramKind::runnable;
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_machine != EM_X86_64)
    return ProgramKind::foreign_binary;
  bool interpreter = false;
  for (unsigned i = 0; i < header.e_phnum && i < 4096; ++i) {
    Elf64_Phdr segment;
    if (read_at(static_cast<long>(header.e_phoff + i * sizeof segment), &segment, sizeof segment) !=
        static_cast<long>(sizeof segment))
      break;
    if (segment.p_type == PT_INTERP) interpreter = true;
  }
  // Go marks its binaries with a section of build information, cgo ones too.
  Elf64_Shdr names;
  if (header.e_shstrndx < header.e_shnum &&
      read_at(static_cast<long>(header.e_shoff + header.e_shstrndx * sizeof names), &names, sizeof names) ==
          static_cast<long>(sizeof names)) {
    for (unsigned i = 0; i < header.e_shnum && i < 4096; ++i) {
      Elf64_Shdr section;
      char name[16] = {};
      if (read_at(static_cast<long>(header.e_shoff + i * sizeof section), &section, sizeof section) !=
          static_cast<long>(sizeof section))
        break;
      if (read_at(static_cast<long>(names.sh_offset + section.sh_name), name, sizeof name - 1) > 0 &&
          (strcmp(name, ".go.buildinfo") == 0 || strcmp(name, ".note.go.buildid") == 0))
        return ProgramKind::go_binary;
    }
  }
  return interpreter ? ProgramKind::runnable : ProgramKind::static_binary;
}

// Why a program of that kind is refused (nullptr: it is not).
inline const char* refusal(ProgramKind kind) {
  switch (kind) {
    case ProgramKind::static_binary:
      return "it is statically linked, and netsim's shim reaches dynamically linked programs only "
             "(link it dynamically: for C, without -static)";
    case ProgramKind::go_binary:
      return "it is a Go program, whose runtime makes system calls of its own that netsim does not "
             "simulate yet";
    case ProgramKind::foreign_binary:
      return "it is not an x86-64 program, and netsim's shim cannot load into it";
    case ProgramKind::runnable:
      break;
  }
  return nullptr;
}

// A script's interpreter ("#!/usr/bin/env python3" -> "/usr/bin/env"), into `out`
// (NUL-terminated); false when the file does not start with "#!".
template <typename ReadAt>
bool script_interpreter(ReadAt read_at, char* out, unsigned size) {
  char line[256] = {};
  const long got = read_at(0, line, sizeof line - 1);
  if (got < 2 || line[0] != '#' || line[1] != '!') return false;
  unsigned i = 2;
  while (line[i] == ' ' || line[i] == '\t') ++i;
  unsigned n = 0;
  while (line[i] && line[i] != ' ' && line[i] != '\t' && line[i] != '\n' && n + 1 < size) out[n++] = line[i++];
  out[n] = 0;
  return n > 0;
}

// The kind of the program at `path` (relative to the directory `at`), its
// interpreter's when it is a script. The caller brings its own openat, pread and close
// (the shim makes its calls through its gate); a file that cannot be opened is left
// to exec, which reports why.
template <typename OpenAt, typename Pread, typename Close>
ProgramKind path_kind(int at, const char* path, OpenAt open_at, Pread pread_at, Close close_fd) {
  char interpreter[256];
  const char* target = path;
  for (int depth = 0; depth < 2; ++depth) {
    const int fd = open_at(at, target);
    if (fd < 0) break;
    const auto read_at = [&](long offset, void* buffer, unsigned long size) {
      return static_cast<long>(pread_at(fd, buffer, size, offset));
    };
    const ProgramKind kind = program_kind(read_at);
    const bool script = kind == ProgramKind::runnable && depth == 0 &&
                        script_interpreter(read_at, interpreter, sizeof interpreter);
    close_fd(fd);
    if (!script) return kind;
    target = interpreter;
  }
  return ProgramKind::runnable;
}

}  // namespace netsim::shim
