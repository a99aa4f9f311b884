#pragma once
// Tasks that run on an OS thread of their own, for code that cannot share one C stack
// (the Python interpreter keeps per-thread state that a stack switch would corrupt).
// Threads pass a baton: exactly one of them (or the scheduler's) runs at a time, so
// the simulation stays single-threaded in effect and as deterministic as with
// fibers. A thread task whose turn ends hands the turn straight to the next thread
// task (Scheduler::end_turn), so a switch between two of them wakes one thread, not
// two.
#include <functional>
#include <thread>

#include "netsim/baton.hpp"
#include "netsim/task.hpp"

namespace netsim {

class ThreadTask final : public Task {
 public:
  // body runs on the task's thread; it is skipped when the task is stopped before it
  // starts. body must not let exceptions escape.
  ThreadTask(int id, Process& process, std::string name, std::function<void(Task&)> body);
  // Waits for the thread to end: the simulation must have run the task to its end.
  ~ThreadTask() override;

  void resume() override;
  void suspend() override;
  // Once its thread exists (resume() starts it), the turn can be handed to it directly.
  Baton* direct_baton() override { return thread_.joinable() ? &baton_ : nullptr; }

 private:
  // Ends this task's turn and gives the turn to whoever runs next; true when that is
  // this task again.
  bool hand_on();

  std::function<void(Task&)> body_;
  Baton baton_;
  std::thread thread_;
};

}  // namespace netsim
