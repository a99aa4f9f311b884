#pragma once
// Tasks that run on an OS thread of their own, for code that cannot share one C stack
// (the Python interpreter keeps per-thread state that a stack switch would corrupt).
// The thread and the scheduler pass a baton: exactly one of them runs at a time, so
// the simulation stays single-threaded in effect and as deterministic as with fibers.
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

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

 private:
  // Gives the turn to the task (true) or the scheduler (false) and waits for it back.
  void pass_baton(bool to_task);

  std::function<void(Task&)> body_;
  std::mutex mutex_;
  std::condition_variable turn_changed_;
  bool task_turn_ = false;
  std::thread thread_;
};

}  // namespace netsim
