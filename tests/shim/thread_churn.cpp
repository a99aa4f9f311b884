// Threads that end while their creator goes on (tests/python/test_simrun_threads_end.py).
// Each detached thread allocates and frees, prints its (virtual) thread id and ends;
// its creator sleeps a microsecond between two pthread_create calls, so the next
// creation follows each thread's end: glibc frees an ended thread's stack and malloc
// cache under locks pthread_create and malloc take too. With "main-exits" after the
// count, the main thread leaves first (pthread_exit) and a thread of its own creates
// the rest: the process lives on with its main thread a zombie.
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

void* work(void* arg) {
  void* chunks[32];
  for (void*& chunk : chunks) chunk = std::malloc(48);
  for (void* chunk : chunks) std::free(chunk);
  std::free(arg);
  std::printf("thread %ld\n", static_cast<long>(syscall(SYS_gettid)));
  return nullptr;
}

void* create(void* arg) {
  const int threads = *static_cast<int*>(arg);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (int i = 0; i < threads; ++i) {
    pthread_t thread;
    if (pthread_create(&thread, &attr, work, std::malloc(48)) != 0) std::exit(1);
    usleep(1);
  }
  std::printf("created %d\n", threads);
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  static int threads = argc > 1 ? std::atoi(argv[1]) : 300;
  if (argc > 2 && std::strcmp(argv[2], "main-exits") == 0) {
    pthread_t creator;
    if (pthread_create(&creator, nullptr, create, &threads) != 0) return 1;
    pthread_exit(nullptr);
  }
  create(&threads);
  return 0;
}
