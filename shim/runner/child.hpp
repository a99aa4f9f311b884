#pragma once
// Starting a real child process under the shim: its region, its descriptors, its
// environment, and nothing it could use to escape (no inherited descriptors, its own
// process group, death with simrun).
#include <sys/types.h>

#include <string>
#include <vector>

#include "netsim/shim/channel.hpp"
#include "sandbox.hpp"

namespace netsim::shim {

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0]: a path, or a name looked up on PATH
  std::vector<std::string> env;   // "NAME=value", before the shim's own variables
  std::string shim_path;
  int pool_fd = -1;               // the run's region pool (channel.hpp)
  int region_index = 0;           // the child's region in it, filled in already
  Sandbox* sandbox = nullptr;     // the run's namespaces, which the child joins
};

struct Child {
  pid_t pid = -1;     // as simrun sees it
  pid_t ns_pid = -1;  // as the processes of the run see it (their PID namespace's)
  int pidfd = -1;
  int output_fd = -1;        // read end of the pipe its real stdout and stderr go to
  // A forked process is its real parent's child, not simrun's: waitid cannot reap it
  // while that parent lives.
  bool forked = false;
};

// Starts the child, which waits in the shim's constructor for its first turn. Throws
// std::runtime_error naming the program when it cannot start, or when it is a
// program the shim cannot reach (program_kind.hpp).
Child start_child(const ChildSpec& spec);
// The pid of the process a pidfd refers to, in simrun's PID namespace; -1 if gone.
pid_t pid_of(int pidfd);
// Closes the descriptors (the process must be reaped already).
void release_child(Child& child);

}  // namespace netsim::shim
