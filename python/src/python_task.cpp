#include "python_task.hpp"

#include <map>
#include <memory>
#include <mutex>

#include "netsim/thread_task.hpp"

namespace netsim::python {

TaskContext& current() {
  thread_local TaskContext context;
  return context;
}

namespace {

// The Python thread of each task running Python code, by simulation (several may run
// at once, in different threads): where raise_in_tasks() aims.
std::mutex threads_mutex;
std::multimap<const Kernel*, unsigned long> task_threads;

// Registers the calling task's thread for as long as it lives.
class RegisteredThread {
 public:
  explicit RegisteredThread(const Kernel& kernel) {
    std::lock_guard lock(threads_mutex);
    entry_ = task_threads.emplace(&kernel, PyThread_get_thread_ident());
  }
  ~RegisteredThread() {
    std::lock_guard lock(threads_mutex);
    // A stop that came as the code ended must not surface in what runs next here.
    PyThreadState_SetAsyncExc(entry_->second, nullptr);
    task_threads.erase(entry_);
  }
  RegisteredThread(const RegisteredThread&) = delete;
  RegisteredThread& operator=(const RegisteredThread&) = delete;

 private:
  std::multimap<const Kernel*, unsigned long>::iterator entry_;
};

void run(Kernel& kernel, Task& self, py::object& main) {
  current() = {&kernel, &self};
  int status = 0;
  bool cancelled = false;
  {
    py::gil_scoped_acquire gil;
    {
      RegisteredThread registered(kernel);
      try {
        status = main().cast<int>();
      } catch (py::error_already_set& e) {
        // The package's task wrapper reports every other exception itself; what gets
        // here is the stop of the task, or a failure of that wrapper.
        cancelled = e.matches(task_cancelled_type());
        if (!cancelled) e.discard_as_unraisable("netsim task");
        status = cancelled ? kKilledStatus : 1;
      }
    }
    main = py::object();  // drop the reference while the GIL is held
  }
  // A Ctrl-C stopped the task in the middle of its code (raise_in_tasks) rather than
  // the run's stop at a call: the run's stop, which comes next, ends the process, as
  // it ends those whose tasks it stops.
  const bool interrupted = cancelled && !self.cancel_requested();
  Process& process = self.process();
  if (&self == process.tasks().front() && !interrupted) kernel.exit_process(process, status);
}

}  // namespace

void raise_in_tasks(const Kernel& kernel, PyObject* error) {
  std::lock_guard lock(threads_mutex);
  const auto [first, last] = task_threads.equal_range(&kernel);
  for (auto it = first; it != last; ++it) PyThreadState_SetAsyncExc(it->second, error);
}

int add_python_task(Kernel& kernel, Process& process, std::string name, py::object main,
                    bool staged) {
  auto holder = std::make_shared<py::object>(std::move(main));
  auto task = std::make_unique<ThreadTask>(
      kernel.next_task_id(), process, std::move(name),
      [&kernel, holder](Task& self) { run(kernel, self, *holder); });
  return kernel.add_task(std::move(task), staged).tid();
}

}  // namespace netsim::python
