#include "netsim/task.hpp"

#include <algorithm>

#include "netsim/scheduler.hpp"

namespace netsim {
namespace {

template <typename T>
void erase_value(std::vector<T>& v, const T& value) {
  v.erase(std::remove(v.begin(), v.end(), value), v.end());
}

}  // namespace

WaitQueue::~WaitQueue() {
  for (Task* task : waiting_) erase_value(task->queues_, this);
}

void WaitQueue::notify_all() {
  // Waking removes a task from every queue it waits in, so walk the waiters from a
  // scratch list. The scratch and the queue trade storage instead of allocating, so
  // blocking and waking cost no allocation. Waiters wake in the order they came.
  thread_local std::vector<Task*> waking;
  waking.swap(waiting_);
  for (Task* task : waking) task->scheduler_->wake(*task, false);
  waking.clear();
  if (watcher_) watcher_->notified();
}

bool WaitQueue::notify_one() {
  if (waiting_.empty()) return false;
  // Waking takes the task out of every queue it waits in, this one included.
  Task* task = waiting_.front();
  task->scheduler_->wake(*task, false);
  return true;
}

Task::Task(int id, Process& process, std::string name)
    : id_(id), process_(&process), name_(std::move(name)) {}

Task::~Task() {
  for (WaitQueue* queue : queues_) erase_value(queue->waiting_, this);
}

void Scheduler::wake(Task& task, bool timed_out) {
  if (task.state_ != TaskState::blocked) return;
  for (WaitQueue* queue : task.queues_) erase_value(queue->waiting_, &task);
  task.queues_.clear();
  task.timed_out_ = timed_out;
  make_ready(task);
}

}  // namespace netsim
