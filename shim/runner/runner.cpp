#include "runner.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/read.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <stdexcept>

#include "netsim/errors.hpp"
#include "netsim/fiber_task.hpp"
#include "netsim/system.hpp"
#include "proc.hpp"
#include "request.hpp"

namespace netsim::shim {
namespace {

// How long a wait for a child's request sleeps before simrun looks at its own events
// and at whether the child still lives.
constexpr long kPollNanos = 5'000'000;
// Virtual time a stopped process has to end after each signal.
constexpr Nanos kStopGrace = 5 * kSecond;
// Resumes the stopped tasks get to unwind.
constexpr std::size_t kUnwindTurns = 10'000;

constexpr idtype_t kPidfd = static_cast<idtype_t>(3);  // P_PIDFD

// Through the pidfd: never a process that reused the pid of a child already reaped.
void send_signal(const RemoteProcess& remote, int signal) {
  syscall(SYS_pidfd_send_signal, remote.child.pidfd, signal, nullptr, 0);
}

std::uint64_t seed_for(std::uint64_t seed, int pid) {
  return seed * 0x9e3779b97f4a7c15ULL + static_cast<std::uint64_t>(pid);
}

// The status a dead process that is not simrun's child left (as waitpid encodes it),
// from its zombie's /proc/PID/stat (its 52nd field, exit_code): waitid cannot reach it.
std::optional<int> zombie_status(pid_t pid) {
  const std::string stat = read_proc(fmt::format("/proc/{}/stat", pid));
  const std::optional<std::string_view> field = stat_field(stat, 52);
  int status = 0;
  if (!field || std::from_chars(field->data(), field->data() + field->size(), status).ec != std::errc())
    return std::nullopt;
  return status;
}

// The caller's environment with the fixed variables (system.hpp) in place of its own.
std::vector<std::string> children_environment(const std::vector<std::string>& caller, std::uint64_t seed) {
  const std::vector<std::string> fixed = fixed_environment(seed);
  std::vector<std::string> env;
  for (const std::string& entry : caller) {
    const std::string name = entry.substr(0, entry.find('=') + 1);
    if (std::none_of(fixed.begin(), fixed.end(), [&](const std::string& f) { return f.starts_with(name); }))
      env.push_back(entry);
  }
  env.insert(env.end(), fixed.begin(), fixed.end());
  return env;
}

}  // namespace

std::string signal_name(int signal) {
  const char* abbrev = sigabbrev_np(signal);
  return abbrev ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", signal);
}

SavedSignals::SavedSignals() {
  sigaction(SIGINT, nullptr, &interrupt_);
  sigaction(SIGTERM, nullptr, &terminate_);
}

SavedSignals::~SavedSignals() {
  sigaction(SIGINT, &interrupt_, nullptr);
  sigaction(SIGTERM, &terminate_, nullptr);
}

Runner::Runner(Simulation& simulation, const RunOptions& options)
    : simulation_(simulation),
      options_(options),
      env_(children_environment(options.env, options.config.seed)),
      signals_(io_, SIGINT, SIGTERM),
      watchdog_(io_) {
  // A timer's signal (SIGALRM) reaches its process as kill() between processes does.
  simulation_.kernel().set_signal_hook([this](Process& process, int signal) {
    if (RemoteProcess* target = find_remote(process.pid())) deliver(*target, signal);
  });
  pool_fd_ = memfd_create("netsim-regions", MFD_CLOEXEC);
  if (pool_fd_ < 0) throw std::runtime_error(std::string("cannot make the shim's regions: ") + strerror(errno));
  // A forked process whose parent dies is reparented here rather than to init, so
  // that it is still ours to reap (and its pidfd still ours to kill).
  prctl(PR_GET_CHILD_SUBREAPER, &was_subreaper_);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  // The whole run on one CPU, the one simrun is on as it starts (runs started side by
  // side then tend to spread over the CPUs): only one of its threads ever has work to
  // do, the simulator's or the child thread's that has the turn, and every hand-over
  // between them is a futex wake-up on the same CPU. The simulator on a CPU of its own
  // and the children on the others, each side polling for the other's next step, took
  // 1.5 - 1.6 times as long, wall and CPU (docs/benchmarks.md, "Where a forwarded
  // call's time goes").
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) == 0 && CPU_COUNT(&allowed) >= 2) {
    saved_cpus_ = allowed;
    int cpu = sched_getcpu();
    if (cpu < 0 || !CPU_ISSET(cpu, &allowed)) {
      cpu = 0;
      while (!CPU_ISSET(cpu, &allowed)) ++cpu;
    }
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    sched_setaffinity(0, sizeof one, &one);
  }
  signals_.async_wait([this](const boost::system::error_code& error, int signal) {
    if (error) return;
    interrupted_ = true;
    abort(fmt::format("interrupted by {}", signal == SIGINT ? "SIGINT" : "SIGTERM"));
  });
  if (options.timeout_seconds) {
    watchdog_.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(*options.timeout_seconds)));
    watchdog_.async_wait([this](const boost::system::error_code& error) {
      if (error) return;
      timed_out_ = true;
      const std::string who =
          running_ ? fmt::format("{} (pid {}) was running and had made no call netsim sees for a while "
                                 "(a busy loop?)",
                                 running_->process->name(), running_->process->pid())
                   : std::string("the simulation was still going");
      abort(fmt::format("--timeout {} s of wall-clock time reached: {}; stopped everything",
                        *options_.timeout_seconds, who));
    });
  }
  simulation_.set_process_control(this);
}

Runner::~Runner() {
  simulation_.set_process_control(nullptr);
  if (saved_cpus_) sched_setaffinity(0, sizeof *saved_cpus_, &*saved_cpus_);
  for (auto& remote : processes_) send_signal(*remote, SIGKILL);
  for (auto& remote : processes_) {
    kill_now(*remote);
    remote->output.reset();
    release_child(remote->child);
  }
  for (Region* region : regions_) munmap(region, kRegionStride);
  close(pool_fd_);
  prctl(PR_SET_CHILD_SUBREAPER, was_subreaper_);
}

int Runner::claim_region() {
  // A region is free again once its process has ended in the simulation and for real;
  // the pool grows only when none is, so that its memory follows the processes alive.
  for (auto& remote : processes_) {
    if (remote->region_index < 0 || !remote->process->exited()) continue;
    pollfd dead = {remote->child.pidfd, POLLIN, 0};
    if (remote->child.pidfd >= 0 && !remote->reaped_status && ::poll(&dead, 1, 0) <= 0) continue;
    return std::exchange(remote->region_index, -1);
  }
  return grow_pool();
}

int Runner::grow_pool() {
  const int index = static_cast<int>(regions_.size());
  if (index == kMaxProcesses || ftruncate(pool_fd_, region_offset(index + 1)) != 0) return -1;
  void* mapping = mmap(nullptr, kRegionStride, PROT_READ | PROT_WRITE, MAP_SHARED, pool_fd_, region_offset(index));
  if (mapping == MAP_FAILED) return -1;
  regions_.push_back(static_cast<Region*>(mapping));
  slots_used_.push_back(1);
  return index;
}

void Runner::fill_region(int index, const Process& process, bool simulated_stdin) {
  Region& region = *regions_[index];
  region.magic = kRegionMagic;
  region.version = kRegionVersion;
  region.pid = process.pid();
  region.ppid = process.ppid();
  region.started = 0;
  store_clocks(region, process);
  region.seed = seed_for(options_.config.seed, process.pid());
  region.simulated_stdin = simulated_stdin;
  region.sigchld = 0;
  memset(region.exec_closes, 0, sizeof region.exec_closes);
  const SystemFacts facts = system_facts(process.host());
  memset(&region.system, 0, sizeof region.system);
  const auto field = [](char* to, const std::string& value) {
    fmt::format_to_n(to, sizeof(utsname::nodename) - 1, "{}", value);
  };
  field(region.system.sysname, facts.sysname);
  field(region.system.nodename, facts.nodename);
  field(region.system.release, facts.release);
  field(region.system.version, facts.version);
  field(region.system.machine, facts.machine);
  field(region.system.domainname, "(none)");  // as on a host where none was set
  region.cpus = static_cast<std::uint32_t>(facts.cpus);
  memset(region.interfaces, 0, sizeof region.interfaces);
  for (std::size_t i = 0; i < facts.interfaces.size() && i < std::size(region.interfaces); ++i) {
    const Interface& from = facts.interfaces[i];
    Region::Interface& to = region.interfaces[i];
    fmt::format_to_n(to.name, sizeof to.name - 1, "{}", from.name);
    to.index = from.index;
    if (from.ipv4) memcpy(&to.ipv4, from.ipv4->bytes.data(), 4);
    to.netmask = htonl(from.prefix ? ~0U << (32 - from.prefix) : 0);
    to.flags = from.flags;
    to.mtu = from.mtu;
    memcpy(to.mac, from.mac.data(), sizeof to.mac);
  }
  for (int i = 0; i < slots_used_[index]; ++i) {
    region.slots[i].state.store(static_cast<std::uint32_t>(SlotState::idle), std::memory_order_relaxed);
    region.slots[i].signal = 0;
  }
}

void Runner::store_clocks(Region& region, const Process& process) {
  Kernel& kernel = simulation_.kernel();
  region.wall.store(kernel.wall_clock(process.host()), std::memory_order_relaxed);
  region.monotonic.store(kernel.monotonic_clock(process.host()), std::memory_order_relaxed);
  region.elapsed.store(kernel.clock().elapsed(), std::memory_order_relaxed);
}

RemoteProcess* Runner::find_remote(int pid) const {
  for (const auto& remote : processes_)
    if (remote->process->pid() == pid) return remote.get();
  return nullptr;
}

RemoteProcess& Runner::start(const Command& command, bool staged) {
  auto remote = std::make_unique<RemoteProcess>();
  Process& process = simulation_.create_process(command.name);
  remote->process = &process;
  remote->base_name = command.name;
  remote->command = command;
  if (command.input) simulation_.kernel().install_input(process, 0, *command.input);
  remote->region_index = claim_region();
  if (remote->region_index < 0)
    throw std::runtime_error(fmt::format("cannot start {}: no room for another process ({} at most at once, "
                                         "or the shim's shared memory could not grow)",
                                         command.name, kMaxProcesses));
  fill_region(remote->region_index, process, command.input.has_value());
  remote->region = regions_[remote->region_index];
  remote->child = start_child({command.argv, env_, options_.shim_path, pool_fd_,
                               remote->region_index, &sandbox_});
  remote->output =
      std::make_unique<boost::asio::posix::stream_descriptor>(io_, ::dup(remote->child.output_fd));
  RemoteProcess& added = *remote;
  processes_.push_back(std::move(remote));
  read_output(added);
  add_thread(added, 0, staged);
  return added;
}

Task& Runner::add_thread(RemoteProcess& remote, int index, bool staged) {
  Kernel& kernel = simulation_.kernel();
  if (remote.threads.size() <= static_cast<std::size_t>(index)) {
    remote.threads.resize(index + 1);
    remote.tids.resize(index + 1);
  }
  remote.tids[index] = 0;
  slots_used_[remote.region_index] = std::max(slots_used_[remote.region_index], index + 1);
  auto task = std::make_unique<FiberTask>(
      kernel.next_task_id(), *remote.process, remote.process->name(),
      [this, &remote, index](Task& self) { serve(remote, index, self); });
  Task& added = kernel.add_task(std::move(task), staged);
  remote.threads[index] = &added;
  return added;
}

void Runner::serve(RemoteProcess& remote, int index, Task& self) {
  Slot& slot = remote.region->slots[index];
  // The request being served, out of the child's reach (request.hpp); one per thread,
  // as a call that blocks keeps its own until its reply.
  const auto mine = std::make_unique_for_overwrite<Slot>();
  std::vector<pollfd> poll_list;  // a long poll list's parts, until its last comes
  Kernel& kernel = simulation_.kernel();
  for (;;) {
    if (!wait_request(remote, slot)) {
      lose(remote, self);
      return;
    }
    if (const std::string problem = take_request(slot, *mine); !problem.empty()) {
      remote.offender = true;
      kernel.emit_output(self, 2,
                         fmt::format("netsim: {} (pid {}) sent a malformed request on the shim channel ({}); "
                                     "stopped\n",
                                     remote.process->name(), remote.process->pid(), problem));
      lose(remote, self);
      return;
    }
    long result = 0;
    bool last = false;
    mine->signal = 0;
    try {
      result = serve_call(remote, index, self, *mine, poll_list, last);
    } catch (const TaskInterrupted&) {
      result = -EINTR;
      mine->signal = static_cast<std::uint32_t>(remote.signal);
    } catch (const TaskCancelled&) {
      // The process ended while this thread waited: its real thread is ending too.
      remote.threads[index] = nullptr;
      return;
    }
    // Not in the middle of a poll list, whose parts come with nothing in between.
    if (!mine->signal && mine->call != kCallPollPart)
      mine->signal = static_cast<std::uint32_t>(std::exchange(remote.pending, 0));
    // An exec ended the thread while its call was under way: nobody waits for the reply.
    if (remote.threads[index] != &self && !last) return;
    mine->result = result;
    // The thread's last reply: it goes on to glibc's end of a thread (thread_end.cpp).
    std::optional<ThreadEnd> ending;
    if (last && mine->call == kCallThreadExit && !remote.process->exited())
      ending.emplace(remote.child.pid, index == 0 ? remote.child.pid : remote.tids[index]);
    give_reply(*mine, slot);
    store_clocks(*remote.region, *remote.process);
    post(slot.state, SlotState::reply,
         [](auto* word) { syscall(SYS_futex, word, FUTEX_WAKE, 1, nullptr, nullptr, 0); });
    if (last) {
      remote.threads[index] = nullptr;
      if (ending) await_thread_end(remote, *ending);
      return;
    }
  }
}

bool Runner::wait_request(RemoteProcess& remote, Slot& slot) {
  const auto requested = [&] { return holds(slot.state.load(std::memory_order_acquire), SlotState::request); };
  running_ = &remote;
  // A child that keeps making calls never lets a wait time out: simrun's own events
  // (Ctrl-C, the watchdog) are looked at every few milliseconds all the same.
  const auto now = std::chrono::steady_clock::now();
  if (now >= next_poll_) {
    next_poll_ = now + std::chrono::nanoseconds(kPollNanos);
    poll_events();
  }
  const std::uint32_t left = slot.state.load(std::memory_order_acquire);
  if (aborting_ || remote.reaped_status) return false;
  if (holds(left, SlotState::request)) return true;
  bool gone = false;
  sleep_until(
      slot.state, [&](std::uint32_t state) { return holds(state, SlotState::request) || gone; },
      [&](std::uint32_t expected) {
        const struct timespec timeout = {0, kPollNanos};
        syscall(SYS_futex, &slot.state, FUTEX_WAIT, expected, &timeout, nullptr, 0);
        if (requested()) return true;
        poll_events();
        reap(remote, false);
        gone = aborting_ || remote.reaped_status.has_value();
        return !gone;
      });
  return requested();
}

void Runner::lose(RemoteProcess& remote, Task& self) {
  for (Task*& thread : remote.threads)
    if (thread == &self) thread = nullptr;
  if (remote.process->exited()) return;
  if (!remote.reaped_status) kill_now(remote);
  drain_output(remote);
  Kernel& kernel = simulation_.kernel();
  // What the child wrote before the shim could forward it (the loader's errors).
  if (!remote.stray.empty()) kernel.emit_output(self, 2, std::exchange(remote.stray, {}));
  end(remote, *remote.reaped_status, remote.reaped_signal);
}

void Runner::kill_now(RemoteProcess& remote) {
  if (!remote.reaped_status && remote.child.pidfd < 0) {
    // Forked in the simulation, but its real fork never reported back.
    remote.reaped_signal = SIGKILL;
    remote.reaped_status = 128 + SIGKILL;
  }
  if (!remote.reaped_status) {
    send_signal(remote, SIGKILL);
    reap(remote, true);
  }
}

bool Runner::reap(RemoteProcess& remote, bool block) {
  if (remote.reaped_status) return true;
  if (remote.child.pidfd < 0) return false;
  siginfo_t info;
  memset(&info, 0, sizeof info);
  if (remote.child.forked) {
    pollfd dead = {remote.child.pidfd, POLLIN, 0};
    if (::poll(&dead, 1, block ? -1 : 0) <= 0) return false;
    const int status = zombie_status(remote.child.pid).value_or(0);
    if (WIFSIGNALED(status)) {
      remote.reaped_signal = WTERMSIG(status);
      remote.reaped_status = 128 + remote.reaped_signal;
    } else {
      remote.reaped_status = WEXITSTATUS(status);
    }
    // Reparented here when its parent died first: then it is ours to reap.
    waitid(kPidfd, static_cast<id_t>(remote.child.pidfd), &info, WEXITED | WNOHANG);
    return true;
  }
  if (waitid(kPidfd, static_cast<id_t>(remote.child.pidfd), &info, WEXITED | (block ? 0 : WNOHANG)) != 0 ||
      info.si_pid == 0)
    return false;
  if (info.si_code == CLD_EXITED) {
    remote.reaped_status = info.si_status;
  } else {
    remote.reaped_signal = info.si_status;
    remote.reaped_status = 128 + info.si_status;
  }
  return true;
}

void Runner::read_output(RemoteProcess& remote) {
  remote.output->async_read_some(
      boost::asio::buffer(remote.output_buffer),
      [this, &remote](const boost::system::error_code& error, std::size_t size) {
        remote.stray.append(remote.output_buffer.data(), size);
        if (!error) read_output(remote);
      });
}

void Runner::drain_output(RemoteProcess& remote) {
  // The child is dead: its pipe holds all it will ever hold.
  char buffer[4096];
  for (;;) {
    pollfd ready = {remote.child.output_fd, POLLIN, 0};
    if (::poll(&ready, 1, 0) <= 0) return;
    const ssize_t size = ::read(remote.child.output_fd, buffer, sizeof buffer);
    if (size <= 0) return;
    remote.stray.append(buffer, static_cast<std::size_t>(size));
  }
}

void Runner::poll_events() {
  io_.restart();
  io_.poll();
}

void Runner::abort(std::string problem) {
  if (aborting_) return;
  aborting_ = true;
  problem_ = std::move(problem);
  for (auto& remote : processes_)
    if (!remote->reaped_status) send_signal(*remote, SIGKILL);
}

void Runner::stop(RemoteProcess& remote) {
  Scheduler& scheduler = simulation_.kernel().scheduler();
  Kernel& kernel = simulation_.kernel();
  const Clock& clock = kernel.clock();
  // The chosen signal first (SIGTERM: a handler runs, a program without one ends
  // silently), SIGTERM next if that was another, SIGKILL last.
  std::vector<int> signals = {options_.stop_signal};
  if (options_.stop_signal != SIGTERM) signals.push_back(SIGTERM);
  for (const int signal : signals) {
    if (remote.process->exited() || aborting_) return;
    // Linux gives a process's signal to its main thread when it can take it.
    Task* target = nullptr;
    for (Task* task : remote.process->tasks())
      if (!target && task->state() != TaskState::done) target = task;
    if (!target) break;
    // Said once, before the program's own last words: a reader sees who was stopped
    // and that what follows is its cleanup, not part of the example.
    kernel.emit_notice(*target, remote.stopped_by
                                    ? fmt::format("netsim: still running {} s after {}: sent {}\n",
                                                  kStopGrace / kSecond, signal_name(remote.stopped_by),
                                                  signal_name(signal))
                                    : stop_line(signal_name(signal)));
    remote.signal = remote.stopped_by = signal;
    Event& event = kernel.trace().record(EventKind::kill, clock.elapsed());
    event.pid = remote.process->pid();
    event.value = signal;
    scheduler.interrupt(*target);
    const Nanos deadline = clock.elapsed() + kStopGrace;
    scheduler.run([&] { return remote.process->exited() || aborting_ || clock.elapsed() >= deadline; });
  }
  if (remote.process->exited()) return;
  if (!remote.process->tasks().empty())
    kernel.emit_output(*remote.process->tasks().front(), 2,
                       fmt::format("netsim: still running {} s after {}: killed (SIGKILL)\n",
                                   kStopGrace / kSecond, signal_name(remote.stopped_by)));
  remote.stopped_by = SIGKILL;
  kill_now(remote);
  end(remote, *remote.reaped_status, remote.reaped_signal);
  scheduler.drain(kUnwindTurns);
}

void Runner::finish() {
  Kernel& kernel = simulation_.kernel();
  for (std::size_t i = 0; i < processes_.size(); ++i) {
    RemoteProcess& remote = *processes_[i];
    if (remote.process->exited()) continue;
    kill_now(remote);
    kernel.exit_process(*remote.process, *remote.reaped_status, remote.reaped_signal);
  }
  kernel.scheduler().drain(kUnwindTurns);
  for (auto& remote : processes_) {
    // Exited in the simulation; its real exit follows at once.
    reap(*remote, true);
  }
  // Forked processes orphaned here: every one is dead now, so they are all reparented.
  for (auto& remote : processes_) {
    siginfo_t info;
    if (remote->child.forked && remote->child.pidfd >= 0)
      waitid(kPidfd, static_cast<id_t>(remote->child.pidfd), &info, WEXITED | WNOHANG);
  }
}

}  // namespace netsim::shim
