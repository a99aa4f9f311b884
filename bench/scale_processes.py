# Processes of scale_bench.py: python3 scale_processes.py CHILDREN
# Forks CHILDREN children that all stay alive until the parent lets them go (one
# byte each on a pipe), then exit with status i % 7; the parent reaps them all.
import os
import sys

count = int(sys.argv[1])
read_end, write_end = os.pipe()
children = []
for i in range(count):
    pid = os.fork()
    if pid == 0:
        os.read(read_end, 1)
        os._exit(i % 7)
    children.append(pid)
os.close(read_end)
os.write(write_end, b'x' * count)
codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
print(count, 'children, exit codes sum to', sum(codes), '; distinct pids:', len(set(children)))
