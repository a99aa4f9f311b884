# Runs five one-second jobs on a pool of five worker threads and times them:
# they run at the same time, so the whole takes about one second.
import concurrent.futures
import threading
import time


def job(n):
    start = time.monotonic()
    time.sleep(1)  # stands for a slow network call
    return n, threading.current_thread().name, time.monotonic() - start


start = time.monotonic()
with concurrent.futures.ThreadPoolExecutor(max_workers=5) as executor:
    futures = [executor.submit(job, n) for n in range(1, 6)]
    for future in concurrent.futures.as_completed(futures):
        n, worker, took = future.result()
        print('job {} took {:.3f} s (in {})'.format(n, took, worker))
print('all jobs done in {:.3f} s'.format(time.monotonic() - start))
