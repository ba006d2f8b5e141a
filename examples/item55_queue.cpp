// Effective Python, Item 55: use Queue to coordinate work between threads.
// First the book's Queue(1): the producer's second put() blocks until the consumer has taken the first
// item. Then task_done()/join(): the producer waits until the consumer has finished its item.
// The short sleeps marked "order" make the printed interleaving the book's on every run; in Python the
// interpreter's thread switching happens to produce it.
#include <sluice/queue.hpp>
#include <sluice/thread.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

namespace {

using namespace std::chrono_literals;

struct work_item {};  // the book's object()

void buffer_of_one() {
  sluice::queue<std::unique_ptr<work_item>> my_queue(1);  // buffer size of 1

  sluice::thread consumer([&] {
    std::this_thread::sleep_for(100ms);  // wait
    my_queue.get();                      // runs second
    std::puts("Consumer got 1");
    std::this_thread::sleep_for(100ms);  // order
    my_queue.get();                      // runs fourth
    std::puts("Consumer got 2");
    std::puts("Consumer done");
  });

  my_queue.put(std::make_unique<work_item>());  // runs first
  std::puts("Producer put 1");
  my_queue.put(std::make_unique<work_item>());  // runs third: blocks until the consumer's first get()
  std::this_thread::sleep_for(20ms);            // order
  std::puts("Producer put 2");
  std::puts("Producer done");
  consumer.join();
}

void task_done_and_join() {
  sluice::queue<std::unique_ptr<work_item>> in_queue;

  sluice::thread consumer([&] {
    std::puts("Consumer waiting");
    auto work = in_queue.get();  // runs second
    std::this_thread::sleep_for(20ms);  // order
    std::puts("Consumer working");
    // Doing work
    std::puts("Consumer done");
    in_queue.task_done();  // runs third
  });

  std::this_thread::sleep_for(50ms);  // order
  std::puts("Producer putting");
  in_queue.put(std::make_unique<work_item>());  // runs first
  std::puts("Producer waiting");
  in_queue.join();  // runs fourth: returns once the consumer called task_done()
  std::puts("Producer done");
  consumer.join();
}

}  // namespace

int main() {
  buffer_of_one();
  std::puts("");
  task_done_and_join();
}
