// Effective Python, Item 52: fan out three encrypt -> hash chains of child processes, then fan them in.
// Each chain is `openssl enc -aes-256-cbc -pbkdf2 -pass env:password | openssl dgst -sha256 -binary`
// (the book's des3 and whirlpool are legacy algorithms in OpenSSL 3). Like the book, it prints the last ten
// bytes of each child's output the way Python prints bytes: first the bare encryptions, then the chains.
#include <sluice/subprocess.hpp>

#include <iostream>
#include <random>
#include <string>
#include <vector>

namespace {

sluice::process run_encrypt(const std::string& data) {
  auto env = sluice::current_environment();
  env["password"] = "zf7ShyBhZOraQDdE/FiZpm/m/8f9X+M1";
  sluice::process proc({"openssl", "enc", "-aes-256-cbc", "-pbkdf2", "-pass", "env:password"},
                       {.in = sluice::redirect::pipe, .out = sluice::redirect::pipe, .env = env});
  proc.in().write(data);  // the child gets its input now; communicate() closes stdin later
  return proc;
}

sluice::process run_hash(sluice::stream input) {
  return sluice::process({"openssl", "dgst", "-sha256", "-binary"}, {.in = std::move(input), .out = sluice::redirect::pipe});
}

std::string random_bytes(std::size_t n) {
  static std::mt19937 gen{std::random_device{}()};
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(gen() & 0xff);
  return s;
}

// Python's repr() of a bytes object: b'...' with \xNN escapes.
std::string bytes_repr(const std::string& b) {
  bool has_single = b.find('\'') != std::string::npos, has_double = b.find('"') != std::string::npos;
  char q = has_single && !has_double ? '"' : '\'';
  std::string r = "b";
  r += q;
  for (unsigned char c : b) {
    static const char hex[] = "0123456789abcdef";
    if (c == '\\' || c == static_cast<unsigned char>(q)) {
      r += '\\';
      r += static_cast<char>(c);
    } else if (c == '\t') {
      r += "\\t";
    } else if (c == '\n') {
      r += "\\n";
    } else if (c == '\r') {
      r += "\\r";
    } else if (c < 0x20 || c >= 0x7f) {
      r += "\\x";
      r += hex[c >> 4];
      r += hex[c & 15];
    } else {
      r += static_cast<char>(c);
    }
  }
  r += q;
  return r;
}

std::string last10(const std::string& s) { return s.size() > 10 ? s.substr(s.size() - 10) : s; }

}  // namespace

int main() {
  try {
    // Fan out: three encryptions run in parallel.
    std::vector<sluice::process> procs;
    for (int i = 0; i < 3; ++i) procs.push_back(run_encrypt(random_bytes(10)));
    // Fan in.
    for (auto& proc : procs) {
      auto [out, err] = proc.communicate();
      std::cout << bytes_repr(last10(out)) << '\n';
    }

    // Three chains: each encryption's stdout becomes its hash's stdin.
    std::vector<sluice::process> encrypt_procs, hash_procs;
    for (int i = 0; i < 3; ++i) {
      encrypt_procs.push_back(run_encrypt(random_bytes(100)));
      // take() hands the pipe to the hash child and closes the parent's copy, so the encryption sees SIGPIPE
      // if the hash dies, and communicate() below cannot steal its output.
      hash_procs.push_back(run_hash(encrypt_procs.back().out().take()));
    }
    for (auto& proc : encrypt_procs) {
      proc.communicate();
      if (proc.returncode() != 0) throw std::runtime_error("encryption failed");
    }
    for (auto& proc : hash_procs) {
      auto [out, err] = proc.communicate();
      std::cout << bytes_repr(last10(out)) << '\n';
    }
  } catch (const sluice::spawn_error& e) {
    std::cout << "openssl is not available here (" << e.what() << ")\n";
  }
}
