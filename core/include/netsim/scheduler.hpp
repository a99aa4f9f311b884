#pragma once
// The seeded cooperative scheduler: picks which task runs next, keeps the timers and
// moves virtual time. All of its choices come from the simulation's Rng.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <optional>
#include <queue>
#include <span>
#include <vector>

#include "netsim/clock.hpp"
#include "netsim/rng.hpp"
#include "netsim/task.hpp"

namespace netsim {

enum class Policy : std::uint8_t {
  // FIFO: a task runs until it blocks. The natural reading of a program.
  run_until_block,
  // At every scheduling point (each kernel call, each block) a seeded choice among the
  // tasks that can run, to explore other interleavings of a racy program.
  random,
  // PCT, probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010): each task
  // gets a seeded random priority when it is created, and at every scheduling point the
  // ready task of highest priority runs. At d-1 seeded change points, drawn among the
  // first k scheduling points where another task could run (Pct::horizon), the running
  // task drops below every other (the depth d, Pct::depth). Where the random policy
  // switches at almost every point and so rarely keeps one order for long, PCT runs a
  // task for long stretches and changes the order at a few points: a bug that needs d
  // orderings to show, among n tasks and k points, is found by one run with probability
  // at least 1/(n k^(d-1)).
  pct,
  // A given schedule (Config::schedule): run-until-block but at the scheduling points
  // it lists, where the task it names runs instead. A random or PCT run's deviations
  // (Scheduler::on_deviation) replayed so give the same run; a subset of them, a run that
  // differs from run-until-block only there: what shrinking an outcome searches.
  schedule,
};

// At the `point`-th scheduling point with a choice (counted from 1, the same way under
// every policy), task `task` ran where run-until-block would have run another.
struct Deviation {
  std::uint64_t point = 0;
  int task = 0;
  bool operator==(const Deviation&) const = default;
};

// Policy::pct's parameters.
struct Pct {
  int depth = 3;  // d: d-1 priority change points per run; 1 or more
  // k: the change points are drawn among this many scheduling points with a choice.
  std::uint64_t horizon = 100;
};

// A polling loop that finds nothing to do lets virtual time move on by this much when
// no other task can run, so timers still fire...
inline constexpr Nanos kSpinQuantum = kMicrosecond;
// ...once it has polled this many times in a row with no task blocking in between.
inline constexpr int kPollsBeforeIdle = 64;

class Scheduler {
 public:
  // pct, schedule: ignored by the other policies.
  Scheduler(Clock& clock, Rng& rng, Policy policy, Pct pct = {}, std::span<const Deviation> schedule = {});
  ~Scheduler();

  Policy policy() const { return policy_; }
  Task* current() const { return current_; }

  // Ready to run now.
  void admit(Task& task);
  // Starts once every task admitted or started before it is blocked or done.
  void stage(Task& task);

  // --- called on the running task's own context ---
  // Blocks until one of the queues is notified (true) or the deadline, in elapsed
  // virtual time, passes (false). The first block after cancel() throws TaskCancelled;
  // later ones return false at once so a stopping task can still clean up.
  bool block(Task& self, Wait wait, std::span<WaitQueue* const> queues,
             std::optional<Nanos> deadline);
  // A scheduling point that does not block: the random policy may switch here.
  void yield_point(Task& self);
  // The call found nothing to do (EAGAIN, zero-timeout poll): others run first; when
  // nobody else can and the polling goes on (kPollsBeforeIdle), the next staged task
  // starts or virtual time moves on by kSpinQuantum.
  void spin(Task& self);

  // SIGSTOP / SIGCONT: a paused task is not run; when it becomes ready it waits until
  // it is resumed. It can still be woken, cancelled or interrupted.
  void pause(Task& task);
  void resume(Task& task);

  // Stops a task: a blocked one wakes with TaskCancelled; one never started ends.
  void cancel(Task& task);
  // Ends the task's current or next block with TaskInterrupted, once: how a signal
  // reaches a task of a shimmed process. Unlike cancel(), later blocks block.
  void interrupt(Task& task);

  enum class Stop : std::uint8_t { condition, idle, deadlock };
  // Runs until `until` holds (checked between tasks), until no task is left (idle),
  // or until every task is blocked with no timer pending (deadlock).
  Stop run(const std::function<bool()>& until);

  // Lets the tasks that can run go on until every one has blocked, without starting
  // staged tasks or moving the clock, for at most `turns` resumes: what processes
  // still do between the last one's exit and their stop (a server reading the
  // client's EOF).
  void drain(std::size_t turns);

  // --- for task kinds with a direct_baton() ---
  // Ends the calling task's turn and takes the decision run() would take next, on the
  // calling thread: the task to run now (marked running; it may be the caller), or
  // null when the decision is run()'s (the run ends, a staged task starts, time
  // moves, draining, or the next task has no direct baton: run() resumes it first).
  Task* end_turn(Task& self);
  // Where run()'s thread waits while tasks with direct batons pass turns around.
  Baton& home() { return *home_; }

  // Runs `fn` on the scheduler's side, between two tasks (or on the task that ends
  // its turn), once virtual time (elapsed) reaches `deadline`: how the network delivers
  // what is in flight, faults fire, and timers no task waits on (an alarm, a timerfd)
  // expire. Calls and the tasks' own timers run in one order: deadline, then the order
  // they were set. A pending call, like a blocked task's timer, keeps time moving and
  // the run from being a deadlock while a task lives. Returns the key cancel_call() takes.
  using CallKey = std::pair<Nanos, std::uint64_t>;
  CallKey call_at(Nanos deadline, std::function<void()> fn);
  // The same call without a function object to build, move and destroy: `alarm` is
  // told that its call `tag` came due. What a delayed link sets for every segment (a
  // pipe, transit.hpp); it must outlive its pending calls.
  class Alarm {
   public:
    virtual void ring(std::uint64_t tag) = 0;

   protected:
    ~Alarm() = default;
  };
  CallKey call_at(Nanos deadline, Alarm& alarm, std::uint64_t tag);
  void cancel_call(const CallKey& key) { cancelled_.insert(key); }
  // Drops every pending call: the run is over, nothing more is delivered or fires.
  void forget_calls() {
    calls_.clear();
    cancelled_.clear();
    functions_.clear();
  }

  // Called at each decision that differs from run-until-block's (every policy but
  // run-until-block): `ran` ran where `passed` would have.
  using DeviationHook = std::function<void(const Deviation&, const Task& ran, const Task& passed)>;
  void on_deviation(DeviationHook hook) { on_deviation_ = std::move(hook); }

  // Blocked tasks in id order: what the deadlock report lists.
  std::vector<const Task*> blocked_tasks() const;
  std::size_t live_tasks() const { return live_; }

 private:
  friend class WaitQueue;
  struct Timer {
    Nanos deadline;
    std::uint64_t seq;
    Task* task;
    std::uint64_t generation;
    bool operator>(const Timer& other) const {
      return deadline != other.deadline ? deadline > other.deadline : seq > other.seq;
    }
  };

  void wake(Task& task, bool timed_out);
  Stop loop(const std::function<bool()>& until);
  void run_one();
  void start_turn(Task& task);
  void finish_turn(Task& task);
  void make_ready(Task& task);
  Task& pick();
  void fire_due_timers();
  void switch_away(Task& self);
  void take_interrupt(Task& self);
  // PCT: a new task's priority; the running task's drop at a change point.
  void prioritise(Task& task);
  void count_choice_point(Task& self);
  // PCT's order: the higher priority first, then the lower id.
  static bool outranks(const Task& a, const Task& b);

  Clock& clock_;
  Rng& rng_;
  Policy policy_;
  Task* current_ = nullptr;
  std::deque<Task*> ready_;
  std::deque<Task*> staged_;
  std::vector<Task*> all_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  std::uint64_t timer_seq_ = 0;  // orders task timers and calls of the same deadline
  // Pending calls as a binary heap of plain values, the next on top: setting one
  // costs no allocation once the vector has grown, which a packet per call on a
  // delayed link needs.
  struct Call {
    CallKey key;
    Alarm* alarm;
    std::uint64_t tag;
  };
  static bool later(const Call& a, const Call& b) { return a.key > b.key; }
  // Drops cancelled calls from the top, so that calls_.front() is the next to run.
  void prune_calls();
  std::vector<Call> calls_;
  // call_at(fn)'s functions, each in a slot (its call's tag) that is reused once the
  // call has run or been dropped.
  class Functions final : public Alarm {
   public:
    std::uint64_t add(std::function<void()> fn);
    void ring(std::uint64_t slot) override;
    void drop(std::uint64_t slot);
    void clear();

   private:
    std::vector<std::function<void()>> slots_;
    std::vector<std::uint64_t> free_;
  };
  Functions functions_;
  std::set<CallKey> cancelled_;  // cancelled, possibly still in calls_
  std::vector<Task*> paused_ready_;  // paused tasks that became ready, in that order
  int fruitless_polls_ = 0;  // spins since a task last blocked
  // PCT: the scheduling points with a choice so far, the change points still ahead
  // (latest first) and the priority the next one gives (d-1 down to 1).
  std::uint64_t choice_points_ = 0;
  std::vector<std::uint64_t> change_points_;
  std::uint64_t next_low_priority_ = 0;
  // Scheduling points with a choice so far; the task that yielded at the
  // current one, which run-until-block would have let go on; Policy::schedule's plan.
  std::uint64_t decision_points_ = 0;
  Task* yielder_ = nullptr;
  std::map<std::uint64_t, int> plan_;
  DeviationHook on_deviation_;
  bool draining_ = false;
  const std::function<bool()>* until_ = nullptr;  // run()'s condition, while it runs
  Task* deferred_ = nullptr;  // picked by end_turn() for run() to resume
  std::unique_ptr<Baton> home_;
  std::size_t live_ = 0;
};

}  // namespace netsim
