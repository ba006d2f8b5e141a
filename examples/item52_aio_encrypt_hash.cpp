// Effective Python, Item 52 with sluice::aio: encrypt -> hash chains of child processes, several chains at
// once, all awaited by one thread. Each chain is `openssl enc -aes-256-cbc -pbkdf2 -pass env:password |
// sha256sum`: the encryption writes into a pipe that the hash child reads, and the parent only feeds the
// first and reads the last (Python: asyncio.create_subprocess_exec with stdout=w, stdin=r from os.pipe()).
//
// g++ 12: argument vectors and options are named variables, never temporaries inside a co_await.
#include <sluice/aio.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <system_error>
#include <vector>

namespace aio = sluice::aio;

namespace {

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen() & 0xff);
  return s;
}

// One chain: data -> openssl enc -> pipe -> sha256sum -> the hex digest of the ciphertext.
aio::task<std::string> encrypt_then_hash(std::string data) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
  sluice::fd read_end(ends[0]), write_end(ends[1]);

  auto env = sluice::current_environment();
  env["password"] = "zf7ShyBhZOraQDdE/FiZpm/m/8f9X+M1";
  std::vector<std::string> encrypt_args{"openssl", "enc", "-aes-256-cbc", "-pbkdf2", "-pass", "env:password"};
  aio::options encrypt_opts;
  encrypt_opts.in = sluice::redirect::pipe;
  encrypt_opts.out = sluice::stream(std::move(write_end));  // the parent's copy closes once the child runs
  encrypt_opts.env = env;
  aio::process encrypt = co_await aio::create_subprocess_exec(encrypt_args, encrypt_opts);

  std::vector<std::string> hash_args{"sha256sum"};
  aio::options hash_opts;
  hash_opts.in = sluice::stream(std::move(read_end));
  hash_opts.out = sluice::redirect::pipe;
  aio::process hash = co_await aio::create_subprocess_exec(hash_args, hash_opts);

  // Feed the first child and close its stdin; the second sees end of file when the first exits.
  auto encrypted = co_await encrypt.communicate(std::move(data));
  (void)encrypted;
  auto [digest, err] = co_await hash.communicate();
  if (encrypt.returncode() != 0 || hash.returncode() != 0) throw std::runtime_error("a chain failed");
  co_return digest.substr(0, 64);
}

aio::task<void> main_task() {
  const int chains = 8;
  std::vector<aio::task<std::string>> jobs;
  for (int i = 0; i < chains; ++i) jobs.push_back(encrypt_then_hash(random_bytes(1 << 20, static_cast<unsigned>(i))));
  const auto t0 = std::chrono::steady_clock::now();
  auto all = aio::gather(std::move(jobs));  // every chain runs at once; the first failure cancels the rest
  std::vector<std::string> digests = co_await std::move(all);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  for (std::size_t i = 0; i < digests.size(); ++i) std::printf("chain %zu: sha256 of the ciphertext %s\n", i, digests[i].c_str());
  std::printf("%d chains (%d children) of 1 MiB each in %.0f ms, awaited by one thread\n", chains, 2 * chains, ms);
}

}  // namespace

int main() {
  try {
    aio::run(main_task());
  } catch (const sluice::spawn_error& e) {
    std::printf("openssl or sha256sum is not available here (%s)\n", e.what());
  }
}
