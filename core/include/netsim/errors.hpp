#pragma once
// Errors of the simulated kernel carry Linux errno values, names and messages, so a
// program under netsim fails exactly the way it would on Linux.
#include <stdexcept>
#include <string>

namespace netsim {

// "ECONNREFUSED"; "E?" for values the table does not know.
const char* errno_name(int err);
// glibc's message: "Connection refused". Our own table, so it never depends on the host.
const char* errno_message(int err);

// Thrown by the C++ task API (Sys) when a call fails.
class Error : public std::runtime_error {
 public:
  Error(int err, const std::string& call);
  int code() const { return err_; }

 private:
  int err_;
};

// Raised into a task when the simulation stops it (end of run, process exit).
// Tasks must let it propagate so their stacks unwind.
struct TaskCancelled {};

// Raised into a blocked task by Scheduler::interrupt: its call ends early (a signal
// arrived) and the task goes on. The shim answers the call with EINTR.
struct TaskInterrupted {};

}  // namespace netsim
