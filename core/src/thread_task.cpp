#include "netsim/thread_task.hpp"

namespace netsim {

ThreadTask::ThreadTask(int id, Process& process, std::string name,
                       std::function<void(Task&)> body)
    : Task(id, process, std::move(name)), body_(std::move(body)) {}

ThreadTask::~ThreadTask() {
  if (thread_.joinable()) thread_.join();
}

void ThreadTask::pass_baton(bool to_task) {
  std::unique_lock lock(mutex_);
  task_turn_ = to_task;
  turn_changed_.notify_all();
  turn_changed_.wait(lock, [&] { return task_turn_ != to_task; });
}

void ThreadTask::resume() {
  if (!thread_.joinable()) {
    thread_ = std::thread([this] {
      {
        std::unique_lock lock(mutex_);
        turn_changed_.wait(lock, [&] { return task_turn_; });
      }
      if (!cancel_requested()) body_(*this);
      std::lock_guard lock(mutex_);
      finished();
      task_turn_ = false;
      turn_changed_.notify_all();
    });
  }
  pass_baton(true);
}

void ThreadTask::suspend() { pass_baton(false); }

}  // namespace netsim
