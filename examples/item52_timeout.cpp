// Effective Python, Item 52: a child that takes too long is terminated; its exit status is -15 (SIGTERM).
//   proc = subprocess.Popen(['sleep', '10'])
//   try:
//       proc.communicate(timeout=0.1)
//   except subprocess.TimeoutExpired:
//       proc.terminate()
//       proc.wait()
//   print('Exit status', proc.poll())
#include <sluice/subprocess.hpp>

#include <iostream>

int main() {
  using namespace std::chrono_literals;
  sluice::process proc({"sleep", "10"});
  try {
    proc.communicate({}, 100ms);
  } catch (const sluice::timeout_expired&) {
    proc.terminate();
    proc.wait();
  }
  std::cout << "Exit status " << *proc.poll() << '\n';
}
