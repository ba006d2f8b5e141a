// Effective Python, Item 52: run a child process and check that it exited cleanly.
//   result = subprocess.run(['echo', 'Hello from the child!'], capture_output=True, encoding='utf-8')
//   result.check_returncode()  # No exception means clean exit
//   print(result.stdout)
#include <sluice/subprocess.hpp>

#include <iostream>

int main() {
  auto result = sluice::run({"echo", "Hello from the child!"}, {.capture_output = true});
  result.check_returncode();  // no exception means clean exit
  std::cout << result.out << '\n';
}
