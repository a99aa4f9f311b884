#pragma once
// A task is one thread of execution inside a simulated process. Only one task runs
// at a time; it runs until it blocks (or, under the random policy, reaches any
// scheduling point) and then hands control back to the scheduler.
//
// Three kinds implement this interface: Boost.Context fibers for C++ code, OS
// threads passing a baton for Python code, and remote tasks whose calls arrive from
// a shimmed process. The scheduler only ever calls resume(); the task calls
// suspend() on its own context.
#include <poll.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "netsim/clock.hpp"

namespace netsim {

class Baton;
class Process;
class Scheduler;
class Task;

enum class TaskState : std::uint8_t { staged, ready, running, blocked, done };

// What a blocked task waits for, kept for the deadlock report.
struct Wait {
  const char* op = "";  // "accept", "recv", "send", "connect", "poll", "sleep", ...
  int fd = -1;          // the descriptor waited on, -1 for none
  // poll(): the caller's descriptor set, which stays alive while it is blocked.
  const pollfd* fds = nullptr;
  std::size_t nfds = 0;
};

// Told of every notify_all of a queue it watches, without blocking in it: how an epoll
// instance hears of readiness changes of the descriptors it watches (core/src/epoll.cpp)
// while no task waits on them.
class QueueWatcher {
 public:
  virtual void notified() = 0;

 protected:
  ~QueueWatcher() = default;
};

// Tasks waiting for one object (a socket, a futex) to change. A socket notifies the
// whole queue on every change that could let a waiter go on, and waiters re-check
// their condition; a futex wakes as many waiters as its caller asks for.
class WaitQueue {
 public:
  WaitQueue() = default;
  WaitQueue(const WaitQueue&) = delete;
  WaitQueue& operator=(const WaitQueue&) = delete;
  ~WaitQueue();

  void notify_all();
  // Wakes the task that has waited longest; false when nobody waits.
  bool notify_one();
  bool empty() const { return waiting_.empty(); }
  // At most one watcher, told after the waiters are woken; null for none.
  void set_watcher(QueueWatcher* watcher) { watcher_ = watcher; }

 private:
  friend class Scheduler;
  friend class Task;
  std::vector<Task*> waiting_;
  QueueWatcher* watcher_ = nullptr;
};

class Task {
 public:
  Task(int id, Process& process, std::string name);
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  virtual ~Task();

  // Runs the task on its own context until it blocks, yields or ends.
  virtual void resume() = 0;
  // On the task's own context: gives control back to the scheduler; returns when the
  // scheduler resumes this task.
  virtual void suspend() = 0;
  // Kinds that run on OS threads of their own can be handed the turn straight from
  // another such task's thread (Scheduler::end_turn); null for the others.
  virtual Baton* direct_baton() { return nullptr; }

  int id() const { return id_; }
  // Its thread id (gettid), given by Kernel::add_task: a process's first task has the
  // process's pid, every later one the next id of the kernel's one numbering.
  int tid() const { return tid_; }
  Process& process() const { return *process_; }
  const std::string& name() const { return name_; }
  TaskState state() const { return state_; }
  const Wait& wait() const { return wait_; }
  bool cancel_requested() const { return cancel_; }

 protected:
  // The task's body has returned; its context will not be resumed again.
  void finished() { state_ = TaskState::done; }
  Scheduler& scheduler() const { return *scheduler_; }

 private:
  friend class Kernel;
  friend class Scheduler;
  friend class WaitQueue;

  int id_;
  int tid_ = 0;
  Process* process_;
  std::string name_;
  Scheduler* scheduler_ = nullptr;
  TaskState state_ = TaskState::staged;
  Wait wait_;
  std::vector<WaitQueue*> queues_;  // where it is registered while blocked
  std::uint64_t wait_generation_ = 0;
  bool timed_out_ = false;
  bool cancel_ = false;
  bool cancel_delivered_ = false;
  bool interrupt_ = false;
  std::uint64_t priority_ = 0;  // PCT's: the ready task with the highest runs
  bool paused_ = false;  // SIGSTOP: not run until resumed (Scheduler::pause)
};

}  // namespace netsim
