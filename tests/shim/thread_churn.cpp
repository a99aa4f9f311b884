// Threads that end while their creator goes on (tests/python/test_simrun_threads_end.py).
// Each detached thread allocates and frees, prints its (virtual) thread id and ends;
// its creator sleeps a microsecond between two pthread_create calls, so the next
// creation follows each thread's end: glibc frees an ended thread's stack and malloc
// cache under locks pthread_create and malloc take too.
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace {

void* work(void* arg) {
  void* chunks[32];
  for (void*& chunk : chunks) chunk = std::malloc(48);
  for (void* chunk : chunks) std::free(chunk);
  std::free(arg);
  std::printf("thread %ld\n", static_cast<long>(syscall(SYS_gettid)));
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 300;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (int i = 0; i < threads; ++i) {
    pthread_t thread;
    if (pthread_create(&thread, &attr, work, std::malloc(48)) != 0) return 1;
    usleep(1);
  }
  std::printf("created %d\n", threads);
  return 0;
}
