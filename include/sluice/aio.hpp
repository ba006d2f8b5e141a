// sluice/aio.hpp -- Python's asyncio for C++20 coroutines: one thread awaits thousands of children, pipes,
// queues and timers.
//
//   sluice::aio::task<void> main_task() {
//     auto [a, b] = co_await sluice::aio::gather(sluice::aio::run_process({"sha256sum", "a.iso"}),
//                                                sluice::aio::run_process({"sha256sum", "b.iso"}));
//     co_await sluice::aio::sleep(0.5);
//   }
//   int main() { sluice::aio::run(main_task()); }
//
// The loop is epoll + pidfd (children) + timerfd (timers) + eventfd (wake-ups from other threads and from
// signals). Children's exit is seen through their pidfd; without pidfd_open the loop falls back to
// waitid(P_PID, WNOHANG|WNOWAIT) on a backing-off timer (see sluice/aio/process.hpp). Signals are forwarded
// by a real handler through the eventfd rather than read from a signalfd: a signalfd sees only signals that
// every thread blocks, which a library cannot promise for threads it does not own.
//
// Thread-safety: a loop and every object used on it (tasks, processes, streams, aio::queue, event, lock,
// semaphore) belong to the thread that runs the loop, as in asyncio. Crossing threads is explicit:
// event_loop::call_soon_threadsafe, to_thread, wrap(sluice::future), and get/put on a sluice::queue<T>.
//
// Things you must get right:
//  - A task suspended in an await keeps references to what it awaits: a queue, event, lock, semaphore or
//    stream must outlive every task waiting on it.
//  - Cancellation is cooperative: it is delivered as cancelled_error at an await. A coroutine that catches it
//    and goes on waiting keeps gather, task_group, wait_for and run() waiting too.
//  - g++ 12 (Debian 12's compiler) destroys temporaries of a co_await full-expression wrongly when they have
//    destructors: build argument vectors and `options` as named variables before the co_await, or use the
//    variadic create_subprocess_exec("sh", "-c", cmd). Nothing awaited here has a defaulted class-type
//    parameter, for the same reason. Its symmetric transfer is a tail call only with optimisation (-O2): at
//    -O0, a chain of nested awaits tens of thousands deep can overflow the stack. clang has neither problem.
#pragma once
#include "aio/gather.hpp"
#include "aio/process.hpp"
#include "aio/queue.hpp"
#include "aio/sync.hpp"
#include "aio/task.hpp"
#include "aio/threads.hpp"
