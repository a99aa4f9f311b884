"""Python threads inside simulated tasks: threads are tasks of their process, and
every blocking primitive waits through the simulation's scheduler."""

import _queue
import _thread
import queue
import socket
import socketserver
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import netsim

# threading.Lock outside any simulation: _thread.allocate_lock up to 3.12, the lock
# type itself from 3.13 on.
REAL_LOCK = threading.Lock


def run_once(main, *, seed=0):
    sim = netsim.Simulation(seed)
    sim.spawn("app", main)
    return sim.run()


class UpperEcho(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            print(f"{threading.current_thread().name} got {line!r}")
            self.wfile.write(line.upper())


def serve_threads():
    with socketserver.ThreadingTCPServer(("127.0.0.1", 9000), UpperEcho) as server:
        server.serve_forever()


def ask(lines, pause):
    with socket.create_connection(("127.0.0.1", 9000)) as sock:
        stream = sock.makefile("rwb")
        for line in lines:
            stream.write(line)
            stream.flush()
            print(f"{stream.readline()!r} at {time.monotonic():.3f}")
            time.sleep(pause)


def test_threading_tcp_server_serves_two_clients_at_once(run_many):
    def make():
        sim = netsim.Simulation(seed=3)
        sim.spawn("server", serve_threads)
        sim.spawn("bob", ask, args=([b"three\n", b"four\n", b"five\n"], 0.25))
        sim.spawn("alice", ask, args=([b"one\n", b"two\n"], 1.0))
        return sim

    result = run_many(make, times=50)
    assert result.transcript == (
        "server: Thread-1 (process_request_thread) got b'three\\n'\n"
        "bob: b'THREE\\n' at 100.000\n"
        "server: Thread-2 (process_request_thread) got b'one\\n'\n"
        "alice: b'ONE\\n' at 100.000\n"
        "server: Thread-1 (process_request_thread) got b'four\\n'\n"
        "bob: b'FOUR\\n' at 100.250\n"
        "server: Thread-1 (process_request_thread) got b'five\\n'\n"
        "bob: b'FIVE\\n' at 100.500\n"
        "server: Thread-2 (process_request_thread) got b'two\\n'\n"
        "alice: b'TWO\\n' at 101.000\n"
        "server: netsim: stopped by SIGTERM at the end of the run\n"
    )
    # Both connections are served at once: bob's lines come between alice's two.
    assert result.elapsed == 2.0
    assert [(p.name, p.status) for p in result.processes] == [("server", 143), ("bob", 0), ("alice", 0)]


def pool_of_sleepers():
    start = time.monotonic()

    def job(n):
        began = time.monotonic()
        time.sleep(1)
        print(f"{threading.current_thread().name}: job {n} slept {time.monotonic() - began} s")
        return n * n

    with ThreadPoolExecutor(max_workers=5) as executor:
        results = list(executor.map(job, range(5)))
    print(f"results {results}, elapsed {time.monotonic() - start} s")


def test_thread_pool_sleeps_report_exact_virtual_durations(run_many):
    def make():
        sim = netsim.Simulation(seed=42)
        sim.spawn("pool", pool_of_sleepers)
        return sim

    result = run_many(make, times=50)
    assert result.transcript == "".join(
        f"pool: ThreadPoolExecutor-0_{n}: job {n} slept 1.0 s\n" for n in range(5)
    ) + "pool: results [0, 1, 4, 9, 16], elapsed 1.0 s\n"
    assert result.elapsed == 1.0


def contended_counter():
    lock = threading.Lock()
    counter = 0
    order = []

    def add(name):
        nonlocal counter
        for _ in range(3):
            with lock:
                seen = counter
                time.sleep(0.1)  # the others run meanwhile, and find the lock taken
                counter = seen + 1
                order.append(name)

    threads = [threading.Thread(target=add, args=(name,), name=name) for name in "abc"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"counter {counter} after {time.monotonic():.1f} s, order {''.join(order)}")


def test_lock_contention_serialises_the_threads(run_many):
    def make():
        sim = netsim.Simulation(seed=7)
        sim.spawn("app", contended_counter)
        return sim

    result = run_many(make, times=50)
    # No update is lost; every critical section costs 0.1 s, one after another.
    assert result.transcript.startswith("app: counter 9 after 100.9 s, order ")
    order = result.transcript.split("order ")[1].strip()
    assert sorted(order) == sorted("aaabbbccc")


def test_lock_contention_is_deterministic_under_the_random_policy():
    def transcript(seed):
        sim = netsim.Simulation(seed, policy="random")
        sim.spawn("app", contended_counter)
        return sim.run().transcript

    assert len({transcript(5) for _ in range(20)}) == 1
    assert all(transcript(seed).startswith("app: counter 9 after 100.9 s") for seed in range(10))


def producer_consumer():
    items = queue.Queue(maxsize=2)
    done = threading.Event()
    ready = threading.Condition()
    state = {"ready": 0}

    def producer():
        for n in range(5):
            items.put(n)  # blocks while the queue is full
            print(f"put {n} at {time.monotonic():.2f}")
        items.put(None)

    def consumer(name):
        with ready:
            state["ready"] += 1
            ready.notify_all()
        while (n := items.get()) is not None:
            time.sleep(0.5)
            print(f"{name} took {n} at {time.monotonic():.2f}")
        done.set()

    workers = [threading.Thread(target=consumer, args=("consumer",))]
    workers[0].start()
    with ready:
        ready.wait_for(lambda: state["ready"] == 1)
    workers.append(threading.Thread(target=producer))
    workers[1].start()
    print("done?", done.wait(timeout=1.0), f"at {time.monotonic():.2f}")
    print("done!", done.wait(), f"at {time.monotonic():.2f}")
    for worker in workers:
        worker.join()


def test_condition_event_and_queue_producer_consumer(run_many):
    def make():
        sim = netsim.Simulation(seed=1)
        sim.spawn("app", producer_consumer)
        return sim

    result = run_many(make, times=50)
    assert result.transcript == (
        "app: put 0 at 100.00\n"
        "app: put 1 at 100.00\n"
        "app: put 2 at 100.00\n"
        "app: consumer took 0 at 100.50\n"
        "app: put 3 at 100.50\n"
        "app: done? False at 101.00\n"
        "app: consumer took 1 at 101.00\n"
        "app: put 4 at 101.00\n"
        "app: consumer took 2 at 101.50\n"
        "app: consumer took 3 at 102.00\n"
        "app: consumer took 4 at 102.50\n"
        "app: done! True at 102.50\n"
    )


def test_semaphore_barrier_and_rlock():
    def main():
        slots = threading.BoundedSemaphore(2)
        barrier = threading.Barrier(3)
        rlock = threading.RLock()

        def worker(n):
            with slots:  # two at a time
                time.sleep(1)
                print(f"worker {n} leaves its slot at {time.monotonic():.0f}")
            index = barrier.wait()
            with rlock, rlock:
                print(f"worker {n} passed the barrier at {time.monotonic():.0f} ({index})")

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        try:
            rlock.release()
        except RuntimeError as e:
            print("RuntimeError:", e)

    assert run_once(main).transcript == (
        "app: worker 0 leaves its slot at 101\n"
        "app: worker 1 leaves its slot at 101\n"
        "app: worker 2 leaves its slot at 102\n"
        "app: worker 2 passed the barrier at 102 (2)\n"
        "app: worker 0 passed the barrier at 102 (0)\n"
        "app: worker 1 passed the barrier at 102 (1)\n"
        "app: RuntimeError: cannot release un-acquired lock\n"
    )


def test_an_rlock_belongs_to_the_thread_that_took_it():
    def main():
        rlock = threading.RLock()
        rlock.acquire()
        errors = []

        def other():
            try:
                rlock.release()
            except RuntimeError as e:
                errors.append(str(e))
            errors.append(rlock.acquire(timeout=0.5))

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        print(errors, f"at {time.monotonic()}")

    assert run_once(main).transcript == "app: ['cannot release un-acquired lock', False] at 100.5\n"


def test_join_waits_for_the_thread_and_times_out_in_virtual_time():
    def main():
        def slow():
            time.sleep(2)
            print(f"slow ends at {time.monotonic()}")

        thread = threading.Thread(target=slow)
        print("alive before start:", thread.is_alive())
        thread.start()
        thread.join(0.5)
        print(f"alive after join(0.5): {thread.is_alive()} at {time.monotonic()}")
        thread.join()
        print(f"alive after join(): {thread.is_alive()} at {time.monotonic()}")
        thread.join()  # joining a finished thread returns at once
        try:
            threading.current_thread().join()
        except RuntimeError as e:
            print("RuntimeError:", e)

    assert run_once(main).transcript == (
        "app: alive before start: False\n"
        "app: alive after join(0.5): True at 100.5\n"
        "app: slow ends at 102.0\n"
        "app: alive after join(): False at 102.0\n"
        "app: RuntimeError: cannot join current thread\n"
    )


def test_timeouts_of_lock_event_condition_and_queue_are_virtual():
    def main():
        lock = threading.Lock()
        lock.acquire()
        start = time.monotonic()
        got = lock.acquire(timeout=1.5)
        print(f"Lock.acquire(timeout=1.5) -> {got} after {time.monotonic() - start} s")
        print(f"Lock.acquire(False) -> {lock.acquire(False)} after {time.monotonic() - start} s")
        print(f"Event().wait(2) -> {threading.Event().wait(2)} at {time.monotonic()}")
        cond = threading.Condition()
        with cond:
            print(f"Condition.wait(0.25) -> {cond.wait(0.25)} at {time.monotonic()}")
        try:
            queue.Queue().get(timeout=0.25)
        except queue.Empty:
            print(f"Queue.get(timeout=0.25) -> Empty at {time.monotonic()}")
        try:
            queue.SimpleQueue().get(timeout=0.5)
        except queue.Empty:
            print(f"SimpleQueue.get(timeout=0.5) -> Empty at {time.monotonic()}")
        timer = threading.Timer(1, lambda: print(f"timer fired at {time.monotonic()}"))
        timer.start()
        timer.join()

    assert run_once(main).transcript == (
        "app: Lock.acquire(timeout=1.5) -> False after 1.5 s\n"
        "app: Lock.acquire(False) -> False after 1.5 s\n"
        "app: Event().wait(2) -> False at 103.5\n"
        "app: Condition.wait(0.25) -> False at 103.75\n"
        "app: Queue.get(timeout=0.25) -> Empty at 104.0\n"
        "app: SimpleQueue.get(timeout=0.5) -> Empty at 104.5\n"
        "app: timer fired at 105.5\n"
    )


def test_lock_api_and_errors_are_cpythons():
    real = _thread.allocate_lock()
    bad_calls = [dict(blocking=False, timeout=1), dict(timeout=-2), dict(timeout="x"), dict(timeout=1e300)]

    def errors_of(lock):
        out = []
        for kwargs in bad_calls:
            try:
                lock.acquire(**kwargs)
            except Exception as e:
                out.append((type(e).__name__, str(e)))
        try:
            lock.release()
        except RuntimeError as e:
            out.append(("RuntimeError", str(e)))
        return out

    expected = errors_of(real)
    seen = {}

    def main():
        lock = threading.Lock()
        seen["errors"] = errors_of(lock)
        seen["repr"] = repr(lock).split(" object at ")[0]
        with lock:
            seen["locked"] = (lock.locked(), repr(lock).split(" object at ")[0])
        seen["after"] = lock.locked()
        seen["types"] = (type(lock).__name__, type(threading.RLock()).__name__, repr(type(queue.SimpleQueue())))

    assert run_once(main).transcript == ""
    assert seen["errors"] == expected
    assert len(expected) == 5
    assert seen["repr"] == "<unlocked _thread.lock"
    assert seen["locked"] == (True, "<locked _thread.lock")
    assert seen["after"] is False
    assert seen["types"] == ("lock", "_RLock", "<class 'queue.SimpleQueue'>")


def names_and_ids():
    main = threading.current_thread()
    print(main.name, main is threading.main_thread(), main.ident == threading.get_ident(),
          threading.get_native_id())

    def show(tag):
        me = threading.current_thread()
        print(tag, me.name, me.ident == threading.get_ident() == me.native_id, me.daemon,
              threading.main_thread().name)

    for target, kwargs in ((show, {}), (show, {"name": "named"}), (show, {"daemon": True})):
        thread = threading.Thread(target=target, args=(kwargs.get("name", "default"),), **kwargs)
        thread.start()
        thread.join()
        print(repr(thread))
    print(threading.active_count(), [t.name for t in threading.enumerate()])


def test_thread_names_and_ids_are_the_same_in_every_run(run_many):
    def make():
        sim = netsim.Simulation()
        sim.spawn("app", names_and_ids)
        return sim

    first = run_many(make, times=50)
    # Threads made outside the simulation move CPython's own counter on...
    outside = threading.Thread(target=lambda: None)
    outside.start()
    outside.join()
    # ...but each simulated process counts from Thread-1 again.
    second = run_once(names_and_ids)
    assert first.transcript_bytes == second.transcript_bytes
    assert first.transcript == (
        "app: MainThread True True 1000\n"
        "app: default Thread-1 (show) True False MainThread\n"
        "app: <Thread(Thread-1 (show), stopped 1001)>\n"
        "app: named named True False MainThread\n"
        "app: <Thread(named, stopped 1002)>\n"
        "app: default Thread-2 (show) True True MainThread\n"
        "app: <Thread(Thread-2 (show), stopped daemon 1003)>\n"
        "app: 1 ['MainThread']\n"
    )


def test_each_process_has_its_own_main_thread_and_names():
    def main():
        thread = threading.Thread(target=lambda: print(threading.current_thread().name, threading.get_ident()))
        thread.start()
        thread.join()
        print(threading.main_thread().name, threading.get_ident())

    sim = netsim.Simulation()
    sim.spawn("one", main)
    sim.spawn("two", main)
    # Pids and thread ids are one numbering, as on Linux: the processes are 1000 and
    # 1001, their threads take the next ids as they start.
    assert sim.run().transcript == (
        "one: Thread-1 (<lambda>) 1002\n"
        "one: MainThread 1000\n"
        "two: Thread-1 (<lambda>) 1003\n"
        "two: MainThread 1001\n"
    )


def test_the_process_waits_for_non_daemon_threads_but_not_daemons():
    def main():
        def slow(seconds):
            time.sleep(seconds)
            print(f"{threading.current_thread().name} ends at {time.monotonic()}")

        threading.Thread(target=slow, args=(2,), name="worker").start()
        threading.Thread(target=slow, args=(5,), name="daemon", daemon=True).start()
        print("main returns")

    result = run_once(main)
    assert result.transcript == "app: main returns\napp: worker ends at 102.0\n"
    assert result.elapsed == 2.0
    assert result.exit_status == 0
    assert [e["event"] for e in result.trace][-1] == "exit"


def test_an_exception_in_a_thread_is_reported_and_the_process_goes_on():
    def main():
        def boom():
            raise ValueError("bad input")

        thread = threading.Thread(target=boom)
        thread.start()
        thread.join()
        print("main goes on")

    result = run_once(main)
    lines = result.transcript.splitlines()
    assert lines[0] == "app: Exception in thread Thread-1 (boom):"
    assert lines[1] == "app: Traceback (most recent call last):"
    assert "app: ValueError: bad input" in lines
    assert lines[-1] == "app: main goes on"
    assert result.exit_status == 0


def test_threads_of_a_stopped_process_are_stopped_quietly():
    def server():
        def forever():
            threading.Event().wait()

        threading.Thread(target=forever).start()
        threading.Event().wait()

    def client():
        time.sleep(1)
        print("client done")

    sim = netsim.Simulation()
    sim.spawn("server", server)
    sim.spawn("client", client)
    result = sim.run()
    # The process's stop line, and nothing from its threads.
    assert result.transcript == ("client: client done\n"
                                 "server: netsim: stopped by SIGTERM at the end of the run\n")
    assert [(p.name, p.killed) for p in result.processes] == [("server", True), ("client", False)]


def test_a_deadlock_of_two_locks_names_the_lock_waits():
    def main():
        a, b = threading.Lock(), threading.Lock()

        def take(first, second):
            with first:
                time.sleep(1)
                with second:
                    pass

        threads = [threading.Thread(target=take, args=(a, b), name="ab"),
                   threading.Thread(target=take, args=(b, a), name="ba")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    with pytest.raises(netsim.DeadlockError) as caught:
        run_once(main)
    assert str(caught.value) == (
        "deadlock at 1.000000s: every task is blocked and no timer is pending\n"
        "  app (pid 1000, task 1): Thread.join\n"
        "  ab (pid 1000, task 2): Lock.acquire\n"
        "  ba (pid 1000, task 3): Lock.acquire\n"
    )


def test_deadlock_reports_name_queue_event_and_condition_waits():
    def main():
        items = queue.Queue()
        threading.Thread(target=items.get, name="getter").start()
        threading.Thread(target=threading.Event().wait, name="waiter").start()
        threading.Thread(target=queue.SimpleQueue().get, name="simple").start()
        cond = threading.Condition()
        with cond:
            cond.wait()

    with pytest.raises(netsim.DeadlockError) as caught:
        run_once(main)
    assert str(caught.value).splitlines()[1:] == [
        "  app (pid 1000, task 1): Condition.wait",
        "  getter (pid 1000, task 2): Queue.get",
        "  waiter (pid 1000, task 3): Event.wait",
        "  simple (pid 1000, task 4): SimpleQueue.get",
    ]


def test_threads_outside_the_simulation_keep_real_threading():
    """A plain thread uses real locks, threads and queues while a simulation runs."""
    seen = {}
    # Real locks, made outside the simulation, hand over between the task and the
    # plain thread (the task's wait blocks its OS thread, and so the simulation).
    running, finished = threading.Lock(), threading.Lock()
    running.acquire()
    finished.acquire()

    def plain():
        running.acquire()  # the simulation runs from here on
        try:
            lock = threading.Lock()
            cond = threading.Condition()
            simple = queue.SimpleQueue()
            results = []

            def helper():
                with cond:
                    results.append(threading.current_thread().name)
                    cond.notify()
                simple.put("from helper")

            helper_thread = threading.Thread(target=helper, name="real helper")
            with lock, cond:
                helper_thread.start()
                cond.wait(timeout=10)
            helper_thread.join()
            seen["lock"] = type(lock)
            seen["queue"] = type(simple)
            seen["results"] = results + [simple.get(timeout=10)]
            seen["ident"] = threading.get_ident() == _thread.get_ident() == threading.current_thread().ident
            seen["main"] = threading.main_thread().name
            seen["rlock"] = type(threading.RLock())
        finally:
            finished.release()  # a failure must not leave the task waiting

    def task():
        running.release()
        finished.acquire()
        print("task ends")

    worker = threading.Thread(target=plain)
    worker.start()
    sim = netsim.Simulation()
    sim.spawn("task", task)
    assert sim.run().transcript == "task: task ends\n"
    worker.join()
    assert seen == {
        "lock": _thread.LockType,
        "queue": _queue.SimpleQueue,
        "results": ["real helper", "from helper"],
        "ident": True,
        "main": "MainThread",
        "rlock": _thread.RLock,
    }
    # Nothing stays patched.
    assert threading.Lock is REAL_LOCK and threading.get_ident is _thread.get_ident
    assert queue.SimpleQueue is _queue.SimpleQueue


def test_objects_made_in_a_task_work_outside_it_afterwards():
    """A module first imported in a task keeps its module-level locks for good: they
    must still work as real ones once the simulation is over."""
    made = {}

    def main():
        made["lock"], made["queue"] = threading.Lock(), queue.SimpleQueue()
        made["lock"].acquire()

    run_once(main)
    lock, items = made["lock"], made["queue"]
    assert lock.locked()
    releaser = threading.Thread(target=lambda: (items.put("item"), lock.release()))
    releaser.start()
    assert items.get(timeout=60) == "item"
    assert lock.acquire(timeout=60)  # a real wait, ended by the real thread's release
    releaser.join()
    lock.release()
    assert not lock.locked()
