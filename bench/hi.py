# The one-line script of simrun_bench.py's start-up figures.
print("hi")
