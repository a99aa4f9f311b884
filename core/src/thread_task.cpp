#include "netsim/thread_task.hpp"

#include "netsim/scheduler.hpp"

namespace netsim {

ThreadTask::ThreadTask(int id, Process& process, std::string name,
                       std::function<void(Task&)> body)
    : Task(id, process, std::move(name)), body_(std::move(body)) {}

ThreadTask::~ThreadTask() {
  if (thread_.joinable()) thread_.join();
}

void ThreadTask::resume() {
  // On the thread running Scheduler::run(): it waits at home() until a turn that
  // started here has been handed from task to task back to it.
  if (!thread_.joinable()) {
    thread_ = std::thread([this] {
      baton_.take();
      if (!cancel_requested()) body_(*this);
      finished();
      hand_on();
    });
  }
  baton_.give();
  scheduler().home().take();
}

void ThreadTask::suspend() {
  if (hand_on()) return;
  baton_.take();
}

bool ThreadTask::hand_on() {
  Task* next = scheduler().end_turn(*this);
  if (next == this) return true;
  if (next) {
    next->direct_baton()->give();
  } else {
    scheduler().home().give();
  }
  return false;
}

}  // namespace netsim
