#include "netsim/fiber_task.hpp"

#include <boost/context/protected_fixedsize_stack.hpp>
#include <memory>

#include "netsim/errors.hpp"

namespace netsim {
namespace {

// Room for ordinary C++ call chains; the guard page below turns an overflow into a
// crash at the faulting frame instead of silent corruption.
constexpr std::size_t kStackSize = 256 * 1024;

}  // namespace

FiberTask::FiberTask(int id, Process& process, std::string name,
                     std::function<void(Task&)> body)
    : Task(id, process, std::move(name)) {
  fiber_ = boost::context::fiber(
      std::allocator_arg, boost::context::protected_fixedsize_stack(kStackSize),
      [this, body = std::move(body)](boost::context::fiber&& caller) {
        caller_ = std::move(caller);
        if (!cancel_requested()) body(*this);
        finished();
        return std::move(caller_);
      });
}

void FiberTask::resume() { fiber_ = std::move(fiber_).resume(); }

void FiberTask::suspend() { caller_ = std::move(caller_).resume(); }

void run_task_body(Kernel& kernel, Task& task, const TaskFn& body) {
  int status = 0;
  try {
    Sys sys(kernel, task);
    body(sys);
  } catch (const boost::context::detail::forced_unwind&) {
    throw;  // the fiber is being destroyed: Boost.Context must see this to unwind
  } catch (const TaskCancelled&) {
    status = kKilledStatus;
  } catch (const std::exception& e) {
    kernel.emit_output(task, 2, std::string("uncaught exception: ") + e.what() + "\n");
    status = 1;
  } catch (...) {
    kernel.emit_output(task, 2, "uncaught exception of unknown type\n");
    status = 1;
  }
  Process& process = task.process();
  if (status == 1 || &task == process.tasks().front()) kernel.exit_process(process, status);
}

}  // namespace netsim
