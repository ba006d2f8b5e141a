// tests/support/test_main.cpp -- the main of every test executable: GoogleTest plus the leak listener.
#include <gtest/gtest.h>

#include "leak_listener.hpp"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  sluice_test::leak_listener::install();
  return RUN_ALL_TESTS();
}
