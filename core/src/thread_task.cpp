#include "netsim/thread_task.hpp"

#include <pthread.h>
#include <sched.h>

#include "netsim/scheduler.hpp"

namespace netsim {
namespace {

// Only one task runs at a time, so nothing is lost by running all of them on one
// CPU, and every hand-over of the turn becomes a wake-up on the same CPU, much
// cheaper than one that must interrupt another CPU. The first CPU the process may
// use, so that the choice does not depend on timing. Nothing observable changes.
void pin_to_one_cpu() {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
    return;
  }
}

}  // namespace

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
      pin_to_one_cpu();
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
