// Effective Python, Item 52: a child runs while the parent polls it and does other work.
//   proc = subprocess.Popen(['sleep', '1'])
//   while proc.poll() is None:
//       print('Working...')
//       time.sleep(0.3)
//   print('Exit status', proc.poll())
#include <sluice/subprocess.hpp>

#include <iostream>
#include <thread>

int main() {
  using namespace std::chrono_literals;
  sluice::process proc({"sleep", "1"});
  while (!proc.poll()) {
    std::cout << "Working..." << std::endl;
    std::this_thread::sleep_for(300ms);  // some time-consuming work here
  }
  std::cout << "Exit status " << *proc.poll() << '\n';
}
