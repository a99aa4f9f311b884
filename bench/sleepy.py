# Sleeps 8 s in all, a second at a time, and says how long that took by its own clock.
import time

start = time.monotonic()
for _ in range(8):
    time.sleep(1)
print('slept {:.3f} s'.format(time.monotonic() - start))
