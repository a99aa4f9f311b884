# Threads of scale_bench.py: python3 scale_threads.py THREADS
# Starts THREADS threads that each sleep one second, joins them, and says how long
# that took (under simrun, in virtual time: the sleeps overlap).
import sys
import threading
import time

count = int(sys.argv[1])
start = time.monotonic()
threads = [threading.Thread(target=time.sleep, args=(1,)) for _ in range(count)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(f'{count} threads slept in {time.monotonic() - start:.3f} s')
