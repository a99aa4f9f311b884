#pragma once
// The kernel's backstop behind the shim. Every process of a run lives in a PID
// namespace and a network namespace made for the run: a call that slips past the
// shim finds no network but a loopback that is down, and no process but the run's;
// and when the namespace's first process (a do-nothing init that dies with the
// simulator, PR_SET_PDEATHSIG) dies, the kernel kills every process left in it, so
// nothing outlives simrun, whatever signal ends it. A simulator without the privilege
// to make namespaces (not root) makes them inside a user namespace of its own, which
// maps its user and group to themselves. Where the host forbids both, a run goes on
// without them, after one warning line.
#include <sys/types.h>

#include <string>

namespace netsim::shim {

class Sandbox {
 public:
  Sandbox();
  ~Sandbox();  // kills the init, and with it every process still in the namespace
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  // fork(), with the child in the namespaces (the caller's own namespaces are
  // unchanged). As fork: 0 in the child, -1 and errno on failure.
  pid_t fork();
  bool active() const { return init_pidfd_ >= 0; }
  // Why the run has no namespaces ("" when it has them): for one line on stderr.
  const std::string& warning() const { return warning_; }

 private:
  bool enter();
  void leave();
  // The namespaces made inside a user namespace, by a helper process (the simulator
  // cannot enter a user namespace and come back); true when they exist.
  bool make_in_user_namespace();
  pid_t fork_into_user_namespace();

  int init_pidfd_ = -1;
  int user_ns_ = -1;  // the run's namespaces (user_ns_: only when not root)
  int pid_ns_ = -1;
  int net_ns_ = -1;
  int own_pid_ns_ = -1;  // the caller's, to go back to
  int own_net_ns_ = -1;
  std::string warning_;
};

}  // namespace netsim::shim
